using System.Net;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Users;

/// <summary>A profile change reaches open clients of everyone who shares a chat as a <c>user</c> frame.</summary>
public sealed class ProfileEventTests
{
    private static readonly byte[] Png = Convert.FromBase64String(
        "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGNgYPj/n4GB4T8DAwMDAwAt8gP9TPq2WQAAAABJRU5ErkJggg==");

    [Fact]
    public async Task Contacts_and_the_users_other_devices_get_a_user_frame_and_strangers_and_blocked_users_do_not()
    {
        await using var server = await ParleyServer.StartAsync();
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var cat = await ApiClient.CreateUserAsync(server, "Cat");
        var eve = await ApiClient.CreateUserAsync(server, "Eve");
        await ann.OpenChatWithAsync(bob);
        await ann.CreateGroupAsync("Friends", cat);
        (await ann.Api.PostAsync($"/users/{cat.Id}/block", null)).AssertStatus(HttpStatusCode.NoContent, "block Cat");
        await using var annOther = await ann.ConnectAsync(server, name: "ann's other device");
        await using var bobSocket = await bob.ConnectAsync(server);
        await using var catSocket = await cat.ConnectAsync(server);
        await using var eveSocket = await eve.ConnectAsync(server);

        (await ann.Api.PatchAsync("/users/me", new { name = "Ann Smith", about = "At the beach" })).AssertStatus(HttpStatusCode.OK, "PATCH /users/me");

        foreach (var socket in new[] { bobSocket, annOther })
        {
            var frame = await socket.WaitForTypeAsync("user", f => f.Str("userId") == ann.Id);
            Assert.Equal(("Ann Smith", "At the beach"), (frame.Str("name"), frame.Str("about")));
        }
        await eveSocket.ExpectNothingAsync(f => f.Type == "user", TimeSpan.FromMilliseconds(300), "a stranger's profile");
        await catSocket.ExpectNothingAsync(f => f.Type == "user", TimeSpan.FromMilliseconds(300), "the profile of someone who blocked Cat");

        using var photo = new HttpRequestMessage(HttpMethod.Put, "/users/me/photo") { Content = new ByteArrayContent(Png) };
        photo.Content.Headers.ContentType = new("image/png");
        (await ann.Api.SendAsync(photo)).AssertStatus(HttpStatusCode.OK, "PUT /users/me/photo");
        var withPhoto = await bobSocket.WaitForTypeAsync("user", f => f.Str("photoUrl") is not null);
        Assert.StartsWith("/media/", withPhoto.Str("photoUrl"));
    }
}
