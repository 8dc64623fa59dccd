using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Storage;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Users;

/// <summary>A deleted account leaves its groups as if it had left itself, under the name
/// "Deleted account" only; a group it led passes to its longest-standing member who can act. An
/// account deleted before deletion left groups is never made an admin, though it can be dismissed
/// as admin and removed.</summary>
public sealed class DeletedAccountGroupTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private const string DeletedName = "Deleted account";

    private ParleyServer Server => shared.Server;

    private static IEnumerable<string> Sorted(params TestUser[] users) => users.Select(u => u.Id).Order(StringComparer.Ordinal);

    private static async Task DeleteAsync(TestUser user) =>
        (await user.Api.DeleteAsync("/users/me")).AssertStatus(HttpStatusCode.NoContent, "DELETE /users/me");

    /// <summary>Deletes an account as deletion did before it left groups: anonymized, still a member.</summary>
    private Task DeleteLeavingGroupsAsync(TestUser user) =>
        Server.Services.GetRequiredService<IAccountStore>().DeleteUserAsync(user.Id, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    /// <summary>A group of <paramref name="admin"/> and <paramref name="first"/>, which
    /// <paramref name="later"/> joins afterwards: the longest-standing member after the admin is
    /// <paramref name="first"/>.</summary>
    private static async Task<string> GroupJoinedLaterAsync(TestUser admin, string name, TestUser first, TestUser later)
    {
        var groupId = await admin.CreateGroupAsync(name, first);
        // Join times are in milliseconds: the later member's must differ.
        await Task.Delay(20);
        (await admin.Api.PostAsync($"/groups/{groupId}/members", new { memberIds = new[] { later.Id } })).AssertStatus(HttpStatusCode.OK, "add the later member");
        return groupId;
    }

    private static bool IsSummaryWithout(WsFrame frame, string chatId, string userId) =>
        frame.Type == "chat" && frame.ChatId == chatId && frame.Data.TryGetProperty("members", out var members)
        && members.EnumerateArray().All(m => m.GetString() != userId);

    [Fact]
    public async Task A_deleted_account_leaves_every_group_and_the_members_see_it_go_under_no_name_but_Deleted_account()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var quill = await ApiClient.CreateUserAsync(Server, "Bartholomew Quill");
        var carl = await ApiClient.CreateUserAsync(Server, "Carl");
        var hikers = await ann.CreateGroupAsync("Hikers", quill, carl);
        var readers = await carl.CreateGroupAsync("Readers", quill);
        var direct = await ann.OpenChatWithAsync(quill);
        await quill.SendTextAsync(direct, "a word in private");
        await quill.SendTextAsync(hikers, "a word to the group");
        var directBefore = (await ann.HistoryAsync(direct)).Select(m => (m.Str("id"), m.Str("content"))).ToList();
        var annCursor = await ann.CurrentCursorAsync();
        await using var annSocket = await ann.ConnectAsync(Server, name: "ann");
        await using var carlSocket = await carl.ConnectAsync(Server, name: "carl");

        await DeleteAsync(quill);

        // Live: the member_left message and a summary without the account, in each of its groups.
        foreach (var (socket, groupId) in new[] { (annSocket, hikers), (carlSocket, hikers), (carlSocket, readers) })
        {
            var left = await socket.WaitForAsync(f => f.Type == "message" && f.ChatId == groupId && f.Str("systemAction") == "member_left",
                what: $"member_left in {groupId} for {socket.Name}");
            Assert.Equal((DeletedName, DeletedName, $"{DeletedName} left"), (left.Str("affectedUserName"), left.Str("senderName"), left.Str("content")));
            await socket.WaitForAsync(f => IsSummaryWithout(f, groupId, quill.Id), what: $"the summary of {groupId} without the account for {socket.Name}");
        }
        // Its contacts through a group only hear of the new name too.
        foreach (var socket in new[] { annSocket, carlSocket })
        {
            var profile = await socket.WaitForTypeAsync("user", f => f.Str("userId") == quill.Id);
            Assert.Equal(DeletedName, profile.Str("name"));
        }

        var group = await ann.ChatAsync(hikers);
        Assert.Equal(Sorted(ann, carl), group.Strings("members").Order(StringComparer.Ordinal));
        Assert.DoesNotContain(quill.Id, group.GetProperty("participants").EnumerateArray().Select(p => p.Str("id")));
        Assert.Equal([carl.Id], (await carl.ChatAsync(readers)).Strings("members"));
        var system = (await ann.MessagesOldestFirstAsync(hikers)).Last();
        Assert.Equal(("member_left", DeletedName), (system.Str("systemAction"), system.Str("affectedUserName")));

        // The old name is nowhere the members can read: not live, not in history, not in sync.
        var sync = await ann.SyncAllAsync(annCursor);
        var readable = new List<string>();
        readable.AddRange(annSocket.AllFrames.Concat(carlSocket.AllFrames).Select(f => f.Text));
        readable.AddRange((await ann.HistoryAsync(hikers)).Concat(await carl.HistoryAsync(readers)).Select(m => m.GetRawText()));
        readable.AddRange(sync.Events.Select(e => e.GetRawText()));
        Assert.Contains(sync.Events, e => e.Str("type") == "message" && e.GetProperty("data").Str("systemAction") == "member_left");
        Assert.DoesNotContain(readable, text => text.Contains("Quill", StringComparison.Ordinal) || text.Contains("Bartholomew", StringComparison.Ordinal));

        // The 1:1 chat is not left: still there, the same history.
        Assert.Contains(await ann.ChatListAsync(), c => c.Str("id") == direct);
        Assert.Equal(directBefore, (await ann.HistoryAsync(direct)).Select(m => (m.Str("id"), m.Str("content"))).ToList());
        Assert.Equal(quill.Id, (await ann.ChatAsync(direct)).GetProperty("participants").EnumerateArray().Single().Str("id"));
    }

    [Fact]
    public async Task When_the_only_admin_deletes_their_account_the_longest_standing_member_leads_the_group()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var carl = await ApiClient.CreateUserAsync(Server, "Carl");
        var groupId = await GroupJoinedLaterAsync(ann, "Who leads now", bob, carl);
        await using var bobSocket = await bob.ConnectAsync(Server, name: "bob");

        await DeleteAsync(ann);

        var summary = await bobSocket.WaitForAsync(f => IsSummaryWithout(f, groupId, ann.Id), what: "the summary without Ann");
        Assert.Equal([bob.Id], summary.Data.GetProperty("admins").EnumerateArray().Select(a => a.GetString()!).ToList());
        var group = await carl.ChatAsync(groupId);
        Assert.Equal([bob.Id], group.Strings("admins"));
        Assert.Equal(Sorted(bob, carl), group.Strings("members").Order(StringComparer.Ordinal));

        (await bob.Api.PutAsync($"/groups/{groupId}/info", new { name = "Bob leads" })).AssertStatus(HttpStatusCode.OK, "the new admin renames");
        (await carl.Api.PutAsync($"/groups/{groupId}/info", new { name = "Carl leads" })).AssertStatus(HttpStatusCode.Forbidden, "a member renames");
        var history = await carl.MessagesOldestFirstAsync(groupId);
        Assert.Contains(history, m => m.Str("systemAction") == "member_left" && m.Str("affectedUserName") == DeletedName);
        Assert.Equal(("group_renamed", "Bob"), (history[^1].Str("systemAction"), history[^1].Str("senderName")));
        Assert.Equal("Bob leads", (await carl.ChatAsync(groupId)).Str("groupName"));
    }

    [Fact]
    public async Task The_lead_never_passes_to_an_account_deleted_before_deletion_left_groups()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var ghost = await ApiClient.CreateUserAsync(Server, "Ghost");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var groupId = await GroupJoinedLaterAsync(ann, "Heirs", ghost, bob);
        await DeleteLeavingGroupsAsync(ghost);

        // Ghost, the longest-standing member after Ann, is no heir: it leaves too, and Bob leads.
        await DeleteAsync(ann);

        var group = await bob.ChatAsync(groupId);
        Assert.Equal([bob.Id], group.Strings("members"));
        Assert.Equal([bob.Id], group.Strings("admins"));
        (await bob.Api.PutAsync($"/groups/{groupId}/info", new { name = "Bob's now" })).AssertStatus(HttpStatusCode.OK, "the new admin renames");
        var left = (await bob.HistoryAsync(groupId)).Where(m => m.Str("systemAction") == "member_left").ToList();
        Assert.Equal(2, left.Count);
        Assert.All(left, m => Assert.Equal(DeletedName, m.Str("affectedUserName")));
    }

    [Fact]
    public async Task A_deleted_account_still_in_a_group_is_not_made_admin_but_can_be_dismissed_and_removed()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var gone = await ApiClient.CreateUserAsync(Server, "Gone");
        var goneAdmin = await ApiClient.CreateUserAsync(Server, "Gone Admin");
        var goneElsewhere = await ApiClient.CreateUserAsync(Server, "Gone Elsewhere");
        var outsider = await ApiClient.CreateUserAsync(Server, "Outsider");
        var groupId = await ann.CreateGroupAsync("Left behind", bob, gone, goneAdmin);
        (await ann.Api.PostAsync($"/groups/{groupId}/admins/{goneAdmin.Id}", null)).AssertStatus(HttpStatusCode.NoContent, "promote Gone Admin");
        foreach (var user in new[] { gone, goneAdmin, goneElsewhere }) await DeleteLeavingGroupsAsync(user);

        var refused = (await ann.Api.PostAsync($"/groups/{groupId}/admins/{gone.Id}", null)).AssertError(HttpStatusCode.Conflict);
        Assert.Contains("deleted", refused, StringComparison.OrdinalIgnoreCase);
        // Whoever may not promote anyone here learns nothing of the account.
        (await bob.Api.PostAsync($"/groups/{groupId}/admins/{gone.Id}", null)).AssertStatus(HttpStatusCode.Forbidden, "a member promotes");
        var notFound = (await outsider.Api.PostAsync($"/groups/{groupId}/admins/{outsider.Id}", null)).AssertError(HttpStatusCode.NotFound);
        Assert.Equal(notFound, (await outsider.Api.PostAsync($"/groups/{groupId}/admins/{gone.Id}", null)).AssertError(HttpStatusCode.NotFound));
        var notMember = (await ann.Api.PostAsync($"/groups/{groupId}/admins/{outsider.Id}", null)).AssertError(HttpStatusCode.NotFound);
        Assert.Equal(notMember, (await ann.Api.PostAsync($"/groups/{groupId}/admins/{goneElsewhere.Id}", null)).AssertError(HttpStatusCode.NotFound));
        Assert.Equal(Sorted(ann, goneAdmin), (await ann.ChatAsync(groupId)).Strings("admins").Order(StringComparer.Ordinal));

        // The ways out: dismissing, removing; promoting a live member still works.
        (await ann.Api.DeleteAsync($"/groups/{groupId}/admins/{goneAdmin.Id}")).AssertStatus(HttpStatusCode.NoContent, "dismiss Gone Admin");
        (await ann.Api.DeleteAsync($"/groups/{groupId}/members/{gone.Id}")).AssertStatus(HttpStatusCode.OK, "remove Gone");
        (await ann.Api.PostAsync($"/groups/{groupId}/admins/{bob.Id}", null)).AssertStatus(HttpStatusCode.NoContent, "promote Bob");
        var group = await ann.ChatAsync(groupId);
        Assert.Equal(Sorted(ann, bob), group.Strings("admins").Order(StringComparer.Ordinal));
        Assert.Equal(Sorted(ann, bob, goneAdmin), group.Strings("members").Order(StringComparer.Ordinal));
        var removed = (await ann.MessagesOldestFirstAsync(groupId)).Last();
        Assert.Equal(("member_removed", DeletedName), (removed.Str("systemAction"), removed.Str("affectedUserName")));
    }
}
