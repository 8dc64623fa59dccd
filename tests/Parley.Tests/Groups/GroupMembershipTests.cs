using System.Net;
using System.Text.Json;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Groups;

public sealed class GroupMembershipTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    private static IEnumerable<string> Sorted(params TestUser[] users) => users.Select(u => u.Id).Order(StringComparer.Ordinal);

    [Fact]
    public async Task An_admin_adds_members_who_then_get_the_chat_and_a_member_added_message()
    {
        var alice = await ApiClient.CreateUserAsync(Server, "Alice");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var dave = await ApiClient.CreateUserAsync(Server, "Dave");
        var erin = await ApiClient.CreateUserAsync(Server, "Erin");
        var groupId = await alice.CreateGroupAsync("Growing", bob);
        await using var bobSocket = await bob.ConnectAsync(Server, name: "bob");
        await using var daveSocket = await dave.ConnectAsync(Server, name: "dave");

        var response = await alice.Api.PostAsync($"/groups/{groupId}/members", new { memberIds = new[] { dave.Id, erin.Id } });
        response.AssertStatus(HttpStatusCode.OK, "POST members");
        Assert.True(response.Json.Bool("success"));
        Assert.Equal(Sorted(alice, bob, dave, erin), response.Json.Strings("members").Order(StringComparer.Ordinal));

        var chat = await daveSocket.WaitForAsync(f => f.Type == "chat" && f.Str("id") == groupId, what: "the chat frame for the joined group");
        Assert.Equal("Growing", chat.Str("groupName"));

        var added = (await bob.MessagesOldestFirstAsync(groupId)).Where(m => m.Str("systemAction") == "member_added").ToList();
        Assert.Equal(2, added.Count);
        Assert.Equal(new[] { "Dave", "Erin" }, added.Select(m => m.Str("affectedUserName")!).Order(StringComparer.Ordinal));
        Assert.All(added, m => Assert.Equal("Alice", m.Str("senderName")));
        await bobSocket.WaitForAsync(f => f.Type == "message" && f.Str("systemAction") == "member_added" && f.Str("affectedUserName") == "Erin",
            what: "member_added for Erin");

        // The new members are in for what comes next.
        await bob.SendTextAsync(groupId, "welcome!");
        await daveSocket.WaitForMessageAsync(groupId, "welcome!");
        Assert.Contains(await erin.HistoryAsync(groupId), m => m.Str("content") == "welcome!");
        Assert.Equal(Sorted(alice, bob, dave, erin), (await erin.ChatAsync(groupId)).Strings("members").Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_member_who_is_not_an_admin_cannot_add_or_remove_members()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var carol = await ApiClient.CreateUserAsync(Server);
        var dave = await ApiClient.CreateUserAsync(Server);
        var groupId = await alice.CreateGroupAsync("Admins only", bob, carol);

        var add = await bob.Api.PostAsync($"/groups/{groupId}/members", new { memberIds = new[] { dave.Id } });
        add.AssertStatus(HttpStatusCode.Forbidden, "POST members as a member");
        Assert.NotNull(add.Error);
        var remove = await bob.Api.DeleteAsync($"/groups/{groupId}/members/{carol.Id}");
        remove.AssertStatus(HttpStatusCode.Forbidden, "DELETE another member as a member");
        var removeAdmin = await bob.Api.DeleteAsync($"/groups/{groupId}/members/{alice.Id}");
        removeAdmin.AssertStatus(HttpStatusCode.Forbidden, "DELETE the admin as a member");

        Assert.Equal(Sorted(alice, bob, carol), (await alice.ChatAsync(groupId)).Strings("members").Order(StringComparer.Ordinal));
        Assert.Equal(["group_created"], (await alice.HistoryAsync(groupId)).Select(m => m.Field("systemAction")).ToArray());
        (await dave.Api.GetAsync($"/chats/{groupId}")).AssertStatus(HttpStatusCode.NotFound, "GET the group as the outsider");
    }

    [Fact]
    public async Task A_removed_member_gets_a_removed_chat_frame_and_then_nothing_more_from_the_group()
    {
        var alice = await ApiClient.CreateUserAsync(Server, "Alice");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var carol = await ApiClient.CreateUserAsync(Server, "Carol");
        var groupId = await alice.CreateGroupAsync("Shrinking", bob, carol);
        await alice.SendTextAsync(groupId, "before the removal");
        await using var bobSocket = await bob.ConnectAsync(Server, name: "bob");
        await using var carolSocket = await carol.ConnectAsync(Server, name: "carol");
        var carolCursor = await carol.CurrentCursorAsync();

        var response = await alice.Api.DeleteAsync($"/groups/{groupId}/members/{carol.Id}");
        response.AssertStatus(HttpStatusCode.OK, "DELETE member as admin");
        Assert.True(response.Json.Bool("success"));
        Assert.Equal(Sorted(alice, bob), response.Json.Strings("members").Order(StringComparer.Ordinal));

        var removed = await carolSocket.WaitForAsync(f => f.Type == "chat" && f.Str("id") == groupId, what: "the removal chat frame");
        Assert.True(removed.Data.Bool("removed"));
        var systemMessage = await bobSocket.WaitForAsync(f => f.Type == "message" && f.Str("systemAction") == "member_removed", what: "member_removed");
        Assert.Equal("Carol", systemMessage.Str("affectedUserName"));
        Assert.Equal("Alice", systemMessage.Str("senderName"));

        // Everything after the removal stays with the remaining members.
        await alice.SendTextAsync(groupId, "after the removal");
        await bobSocket.SendAsync(new { action = "typing", chatId = groupId, isTyping = true });
        await alice.Api.PutAsync($"/groups/{groupId}/info", new { name = "Renamed without Carol" });
        await bobSocket.WaitForMessageAsync(groupId, "after the removal");
        await carolSocket.ExpectNothingAsync(f => f.ChatId == groupId || f.Text.Contains("after the removal") || f.Text.Contains("Renamed without Carol"),
            what: "anything from the group after the removal");

        foreach (var (method, path) in new[] { ("GET", $"/chats/{groupId}"), ("GET", $"/chats/{groupId}/messages"), ("POST", $"/chats/{groupId}/read") })
        {
            var answer = await carol.Api.SendAsync(new HttpMethod(method), path, method == "POST" ? new { } : null);
            answer.AssertStatus(HttpStatusCode.NotFound, $"{method} {path} after removal");
        }
        var send = await carol.Api.PostAsync($"/chats/{groupId}/messages", new { content = "let me back in" });
        send.AssertStatus(HttpStatusCode.NotFound, "POST message after removal");
        Assert.DoesNotContain(await carol.ChatListAsync(), c => c.Str("id") == groupId);
        Assert.DoesNotContain(await alice.HistoryAsync(groupId), m => m.Str("content") == "let me back in");

        // Sync tells her she was removed, and nothing of what came after.
        var sync = await carol.SyncAllAsync(carolCursor);
        Assert.Contains(sync.Events, e => e.Str("type") == "chat" && e.GetProperty("data").Str("id") == groupId && e.GetProperty("data").Bool("removed"));
        Assert.DoesNotContain(sync.Events, e => e.GetRawText().Contains("after the removal") || e.GetRawText().Contains("Renamed without Carol"));
    }

    [Fact]
    public async Task A_member_removed_while_offline_still_syncs_what_was_sent_before_the_removal()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var carol = await ApiClient.CreateUserAsync(Server);
        var groupId = await alice.CreateGroupAsync("Offline removal", bob, carol);
        var carolCursor = await carol.CurrentCursorAsync();

        await alice.SendTextAsync(groupId, "while carol was a member");
        (await alice.Api.DeleteAsync($"/groups/{groupId}/members/{carol.Id}")).AssertStatus(HttpStatusCode.OK, "remove carol");
        await alice.SendTextAsync(groupId, "after carol left");

        // She missed an event from when she belonged; the cursor promises every missed event.
        var sync = await carol.SyncAllAsync(carolCursor);
        var contents = sync.Events.Where(e => e.Str("type") == "message").Select(e => e.GetProperty("data").Str("content")).ToList();
        Assert.Contains("while carol was a member", contents);
        Assert.DoesNotContain("after carol left", contents);
        Assert.Contains(sync.Events, e => e.Str("type") == "chat" && e.GetProperty("data").Str("id") == groupId && e.GetProperty("data").Bool("removed"));
    }

    [Fact]
    public async Task A_member_may_leave_and_the_group_sees_member_left()
    {
        var alice = await ApiClient.CreateUserAsync(Server, "Alice");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var carol = await ApiClient.CreateUserAsync(Server, "Carol");
        var groupId = await alice.CreateGroupAsync("Leaving", bob, carol);
        await using var aliceSocket = await alice.ConnectAsync(Server, name: "alice");
        await using var bobSocket = await bob.ConnectAsync(Server, name: "bob");

        var response = await bob.Api.DeleteAsync($"/groups/{groupId}/members/{bob.Id}");
        response.AssertStatus(HttpStatusCode.OK, "DELETE self");
        Assert.Equal(Sorted(alice, carol), response.Json.Strings("members").Order(StringComparer.Ordinal));

        var removedFrame = await bobSocket.WaitForAsync(f => f.Type == "chat" && f.Str("id") == groupId, what: "the chat frame telling Bob he is out");
        Assert.True(removedFrame.Data.Bool("removed"));
        var left = await aliceSocket.WaitForAsync(f => f.Type == "message" && f.Str("systemAction") == "member_left", what: "member_left");
        Assert.Equal("Bob", left.Str("affectedUserName"));
        Assert.Equal(groupId, left.Str("chatId"));
        Assert.Equal(Sorted(alice, carol), (await carol.ChatAsync(groupId)).Strings("members").Order(StringComparer.Ordinal));
        (await bob.Api.GetAsync($"/chats/{groupId}/messages")).AssertStatus(HttpStatusCode.NotFound, "history after leaving");
        var system = (await carol.MessagesOldestFirstAsync(groupId)).Select(m => m.Field("systemAction")).ToArray();
        Assert.Equal(["group_created", "member_left"], system);
    }

    [Fact]
    public async Task A_member_added_later_sees_the_history_only_from_when_they_joined()
    {
        var alice = await ApiClient.CreateUserAsync(Server, "Alice");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var dave = await ApiClient.CreateUserAsync(Server, "Dave");
        var groupId = await alice.CreateGroupAsync("Before and after", bob);
        await alice.SendTextAsync(groupId, "before dave 1");
        await bob.SendTextAsync(groupId, "before dave 2");
        var daveCursor = await dave.CurrentCursorAsync();

        (await alice.Api.PostAsync($"/groups/{groupId}/members", new { memberIds = new[] { dave.Id } })).AssertStatus(HttpStatusCode.OK, "add dave");
        await bob.SendTextAsync(groupId, "after dave");

        var history = await dave.HistoryAsync(groupId);
        Assert.DoesNotContain(history, m => m.Str("content") is "before dave 1" or "before dave 2");
        Assert.Contains(history, m => m.Str("content") == "after dave");
        var summary = await dave.ChatAsync(groupId);
        Assert.Equal("after dave", summary.GetProperty("lastMessage").Str("content"));

        var sync = await dave.SyncAllAsync(daveCursor);
        var contents = sync.Events.Where(e => e.Str("type") == "message").Select(e => e.GetProperty("data").Str("content")).ToList();
        Assert.Contains("after dave", contents);
        Assert.DoesNotContain("before dave 1", contents);
        Assert.DoesNotContain("before dave 2", contents);
        Assert.Contains(sync.Events, e => e.Str("type") == "chat" && e.GetProperty("data").Str("id") == groupId);

        // The old members still see everything.
        var bobContents = (await bob.HistoryAsync(groupId)).Select(m => m.Str("content")).ToList();
        Assert.Contains("before dave 1", bobContents);
        Assert.Contains("after dave", bobContents);
    }

    [Fact]
    public async Task A_new_members_unread_count_and_last_message_cover_only_what_they_can_see()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var dave = await ApiClient.CreateUserAsync(Server);
        var groupId = await alice.CreateGroupAsync("Catching up", bob);
        for (var i = 0; i < 5; i++) await bob.SendTextAsync(groupId, $"old {i}");
        (await alice.Api.PostAsync($"/groups/{groupId}/members", new { memberIds = new[] { dave.Id } })).AssertStatus(HttpStatusCode.OK, "add dave");

        var summary = await dave.ChatAsync(groupId);
        var visible = await dave.HistoryAsync(groupId);
        Assert.DoesNotContain(visible, m => (m.Str("content") ?? "").StartsWith("old ", StringComparison.Ordinal));
        var lastMessage = summary.GetProperty("lastMessage");
        Assert.False(lastMessage.ValueKind == JsonValueKind.Object && (lastMessage.Str("content") ?? "").StartsWith("old ", StringComparison.Ordinal),
            $"the new member's summary shows a message from before he joined: {lastMessage}");
        var fromOthers = visible.Count(m => m.Str("senderId") != dave.Id);
        var textFromOthers = visible.Count(m => m.Str("senderId") != dave.Id && m.Str("type") == "text");
        Assert.InRange(summary.Long("unreadCount"), textFromOthers, fromOthers);

        await bob.SendTextAsync(groupId, "new 1");
        summary = await dave.ChatAsync(groupId);
        visible = await dave.HistoryAsync(groupId);
        Assert.InRange(summary.Long("unreadCount"), visible.Count(m => m.Str("senderId") != dave.Id && m.Str("type") == "text"),
            visible.Count(m => m.Str("senderId") != dave.Id));
        Assert.Equal("new 1", summary.GetProperty("lastMessage").Str("content"));
    }

    [Fact]
    public async Task Members_are_listed_once_however_often_they_are_named_or_added()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var created = await alice.Api.PostAsync("/groups", new { name = "Echo", memberIds = new[] { bob.Id, bob.Id, alice.Id } });
        created.AssertStatus(HttpStatusCode.Created, "POST /groups with repeated ids");
        var groupId = created.Json.Str("id")!;
        Assert.Equal(Sorted(alice, bob), created.Json.Strings("members").Order(StringComparer.Ordinal));

        var again = await alice.Api.PostAsync($"/groups/{groupId}/members", new { memberIds = new[] { bob.Id } });
        Assert.True(again.Status is HttpStatusCode.OK or HttpStatusCode.Conflict or HttpStatusCode.BadRequest, $"got {(int)again.Status} {again.Json}");
        Assert.Equal(Sorted(alice, bob), (await alice.ChatAsync(groupId)).Strings("members").Order(StringComparer.Ordinal));
        Assert.DoesNotContain(await alice.HistoryAsync(groupId), m => m.Str("systemAction") == "member_added");
    }

    [Fact]
    public async Task A_member_who_left_and_was_added_again_sees_only_the_messages_of_their_memberships()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var groupId = await alice.CreateGroupAsync("Revolving door", bob);
        await alice.SendTextAsync(groupId, "while bob is in");
        (await alice.Api.DeleteAsync($"/groups/{groupId}/members/{bob.Id}")).AssertStatus(HttpStatusCode.OK, "remove bob");
        await alice.SendTextAsync(groupId, "while bob is out");
        (await alice.Api.PostAsync($"/groups/{groupId}/members", new { memberIds = new[] { bob.Id } })).AssertStatus(HttpStatusCode.OK, "add bob back");
        await alice.SendTextAsync(groupId, "bob is back");

        var contents = (await bob.HistoryAsync(groupId)).Select(m => m.Str("content")).ToList();
        Assert.Contains("bob is back", contents);
        Assert.DoesNotContain("while bob is out", contents);
    }
}
