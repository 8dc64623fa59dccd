using System.Net;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Users;

/// <summary><c>Parley:Users:Directory = Contacts</c>: GET /users lists only the users who share a
/// chat with the caller, plus whoever the caller names exactly by a full email address or phone number.</summary>
public sealed class ContactsDirectoryTests
{
    private static List<string> Ids(ApiClient.Response response)
    {
        response.AssertStatus(HttpStatusCode.OK, "GET /users");
        return response.Json.EnumerateArray().Select(u => u.Str("userId")!).ToList();
    }

    [Fact]
    public async Task Only_users_sharing_a_chat_are_listed_and_others_only_by_an_exact_address()
    {
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Users:Directory"] = "Contacts" });
        var tag = "Tag" + Guid.NewGuid().ToString("N")[..10];
        var alice = await ApiClient.CreateUserAsync(server, tag + " Alice");
        var bob = await ApiClient.CreateUserAsync(server, tag + " Bob");
        var carol = await ApiClient.CreateUserAsync(server, tag + " Carol");
        var dave = await ApiClient.CreateUserAsync(server, tag + " Dave");
        var stranger = await ApiClient.CreateUserAsync(server, tag + " Stranger");
        await alice.OpenChatWithAsync(bob);
        await carol.CreateGroupAsync("Club", alice, dave);
        using var anonymous = server.Api();
        var phone = Accounts.NewPhone();
        (await anonymous.PostAsync("/auth/sign-up", new { phoneNumber = phone, password = Accounts.Password, name = tag + " Phone" }))
            .AssertStatus(HttpStatusCode.Created, "sign-up");

        var everyone = Ids(await alice.Api.GetAsync("/users?search=" + tag));
        var partialEmail = Ids(await alice.Api.GetAsync("/users?search=" + Uri.EscapeDataString(stranger.Email[..12])));
        var exactEmail = await alice.Api.GetAsync("/users?search=" + Uri.EscapeDataString(stranger.Email.ToUpperInvariant()));
        var exactPhone = Ids(await alice.Api.GetAsync("/users?search=" + Uri.EscapeDataString(phone)));
        var noSearch = Ids(await alice.Api.GetAsync("/users"));

        Assert.Equal(new[] { bob.Id, carol.Id, dave.Id }.Order(), everyone.Order());
        Assert.Empty(partialEmail);
        Assert.Equal([stranger.Id], Ids(exactEmail));
        Assert.Equal(stranger.Email, exactEmail.Json[0].Str("email"));
        Assert.Single(exactPhone);
        Assert.Equal(new[] { bob.Id, carol.Id, dave.Id }.Order(), noSearch.Order());
        // The stranger, in turn, sees nobody until a chat exists.
        Assert.Empty(Ids(await stranger.Api.GetAsync("/users?search=" + tag)));
        await stranger.OpenChatWithAsync(alice);
        Assert.Equal([alice.Id], Ids(await stranger.Api.GetAsync("/users?search=" + tag)));
    }

    [Fact]
    public async Task A_stranger_found_by_an_exact_address_shows_no_presence_or_about()
    {
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Users:Directory"] = "Contacts" });
        var tag = "Tag" + Guid.NewGuid().ToString("N")[..10];
        var alice = await ApiClient.CreateUserAsync(server, tag + " Alice");
        var bob = await ApiClient.CreateUserAsync(server, tag + " Bob");
        var stranger = await ApiClient.CreateUserAsync(server, tag + " Stranger");
        await alice.OpenChatWithAsync(bob);
        foreach (var user in new[] { bob, stranger })
            (await user.Api.PatchAsync("/users/me", new { about = "About " + user.Name })).AssertStatus(HttpStatusCode.OK, "PATCH /users/me");
        await using var aliceSocket = await alice.ConnectAsync(server, name: "alice");
        await using var strangerSocket = await stranger.ConnectAsync(server, name: "stranger");
        await using var bobSocket = await bob.ConnectAsync(server, name: "bob");
        await aliceSocket.WaitForAsync(f => f.IsPresenceOf(bob.Id, true), what: "Bob online");

        var contact = (await alice.Api.GetAsync("/users?search=" + tag)).Json.EnumerateArray().Single();
        var found = (await alice.Api.GetAsync("/users?search=" + Uri.EscapeDataString(stranger.Email))).Json.EnumerateArray().Single();

        Assert.Equal(bob.Id, contact.Str("userId"));
        Assert.True(contact.Bool("online"));
        Assert.Equal("About " + bob.Name, contact.Str("about"));
        Assert.Equal(stranger.Id, found.Str("userId"));
        Assert.Equal(stranger.Name, found.Str("name"));
        Assert.False(found.Bool("online"));
        Assert.Equal(0, found.GetProperty("lastSeen").GetInt64());
        Assert.Null(found.Str("about"));
        // Once they share a chat, the stranger is a contact and shows both.
        await alice.OpenChatWithAsync(stranger);
        var nowContact = (await alice.Api.GetAsync("/users?search=" + Uri.EscapeDataString(stranger.Email))).Json.EnumerateArray().Single();
        Assert.True(nowContact.Bool("online"));
        Assert.Equal("About " + stranger.Name, nowContact.Str("about"));
    }

    [Fact]
    public async Task The_default_directory_lists_every_account()
    {
        await using var server = await ParleyServer.StartAsync();
        var tag = "Tag" + Guid.NewGuid().ToString("N")[..10];
        var alice = await ApiClient.CreateUserAsync(server, tag + " Alice");
        var stranger = await ApiClient.CreateUserAsync(server, tag + " Stranger");

        Assert.Equal([stranger.Id], Ids(await alice.Api.GetAsync("/users?search=" + tag)));
    }

    [Fact]
    public async Task An_unknown_directory_setting_stops_the_server_at_start()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Users:Directory"] = "Friends" }));

        Assert.Contains("Parley:Users:Directory", error.Message);
    }
}
