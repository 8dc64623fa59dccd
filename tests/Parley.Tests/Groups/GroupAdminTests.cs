using System.Net;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Groups;

public sealed class GroupAdminTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    private static IEnumerable<string> Sorted(params TestUser[] users) => users.Select(u => u.Id).Order(StringComparer.Ordinal);

    [Fact]
    public async Task An_admin_promotes_a_member_who_can_then_manage_members()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var carol = await ApiClient.CreateUserAsync(Server);
        var groupId = await alice.CreateGroupAsync("Promotions", bob);

        (await alice.Api.PostAsync($"/groups/{groupId}/admins/{bob.Id}", null)).AssertStatus(HttpStatusCode.NoContent, "promote bob");
        Assert.Equal(Sorted(alice, bob), (await bob.ChatAsync(groupId)).Strings("admins").Order(StringComparer.Ordinal));

        (await bob.Api.PostAsync($"/groups/{groupId}/members", new { memberIds = new[] { carol.Id } }))
            .AssertStatus(HttpStatusCode.OK, "the new admin adds carol");
        Assert.Equal(Sorted(alice, bob, carol), (await carol.ChatAsync(groupId)).Strings("members").Order(StringComparer.Ordinal));
        (await bob.Api.PutAsync($"/groups/{groupId}/info", new { name = "Bob renamed it" })).AssertStatus(HttpStatusCode.OK, "the new admin renames");
    }

    [Fact]
    public async Task An_admin_demotes_another_admin_who_loses_the_rights()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var carol = await ApiClient.CreateUserAsync(Server);
        var groupId = await alice.CreateGroupAsync("Demotions", bob);
        (await alice.Api.PostAsync($"/groups/{groupId}/admins/{bob.Id}", null)).AssertStatus(HttpStatusCode.NoContent, "promote bob");

        (await alice.Api.DeleteAsync($"/groups/{groupId}/admins/{bob.Id}")).AssertStatus(HttpStatusCode.NoContent, "demote bob");
        Assert.Equal([alice.Id], (await alice.ChatAsync(groupId)).Strings("admins"));
        (await bob.Api.PostAsync($"/groups/{groupId}/members", new { memberIds = new[] { carol.Id } }))
            .AssertStatus(HttpStatusCode.Forbidden, "the demoted member adds carol");
    }

    [Fact]
    public async Task A_member_who_is_not_an_admin_cannot_promote_or_demote()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var carol = await ApiClient.CreateUserAsync(Server);
        var groupId = await alice.CreateGroupAsync("No coups", bob, carol);

        (await bob.Api.PostAsync($"/groups/{groupId}/admins/{bob.Id}", null)).AssertStatus(HttpStatusCode.Forbidden, "bob promotes himself");
        (await bob.Api.PostAsync($"/groups/{groupId}/admins/{carol.Id}", null)).AssertStatus(HttpStatusCode.Forbidden, "bob promotes carol");
        (await bob.Api.DeleteAsync($"/groups/{groupId}/admins/{alice.Id}")).AssertStatus(HttpStatusCode.Forbidden, "bob demotes alice");
        Assert.Equal([alice.Id], (await alice.ChatAsync(groupId)).Strings("admins"));
    }

    [Fact]
    public async Task The_last_admin_cannot_step_down_but_one_of_two_admins_can()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var groupId = await alice.CreateGroupAsync("Always led", bob);

        var refused = await alice.Api.DeleteAsync($"/groups/{groupId}/admins/{alice.Id}");
        Assert.True(refused.Status is HttpStatusCode.BadRequest or HttpStatusCode.Conflict or HttpStatusCode.Forbidden,
            $"the last admin stepping down answered {(int)refused.Status} {refused.Json}");
        Assert.NotNull(refused.Error);
        Assert.Equal([alice.Id], (await alice.ChatAsync(groupId)).Strings("admins"));

        (await alice.Api.PostAsync($"/groups/{groupId}/admins/{bob.Id}", null)).AssertStatus(HttpStatusCode.NoContent, "promote bob");
        (await alice.Api.DeleteAsync($"/groups/{groupId}/admins/{alice.Id}")).AssertStatus(HttpStatusCode.NoContent, "alice steps down");
        Assert.Equal([bob.Id], (await bob.ChatAsync(groupId)).Strings("admins"));

        var bobRefused = await bob.Api.DeleteAsync($"/groups/{groupId}/admins/{bob.Id}");
        Assert.True(bobRefused.Status is HttpStatusCode.BadRequest or HttpStatusCode.Conflict or HttpStatusCode.Forbidden,
            $"the new last admin stepping down answered {(int)bobRefused.Status} {bobRefused.Json}");
        Assert.Equal([bob.Id], (await bob.ChatAsync(groupId)).Strings("admins"));
    }

    [Fact]
    public async Task Promoting_someone_outside_the_group_is_refused()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var outsider = await ApiClient.CreateUserAsync(Server);
        var groupId = await alice.CreateGroupAsync("Members only", bob);

        var response = await alice.Api.PostAsync($"/groups/{groupId}/admins/{outsider.Id}", null);
        Assert.True(response.Status is HttpStatusCode.NotFound or HttpStatusCode.BadRequest, $"got {(int)response.Status} {response.Json}");
        var group = await alice.ChatAsync(groupId);
        Assert.Equal([alice.Id], group.Strings("admins"));
        Assert.DoesNotContain(outsider.Id, group.Strings("members"));
    }
}
