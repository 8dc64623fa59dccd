using System.Net;
using System.Text.Json;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Messages;

public sealed class SyncTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    [Fact]
    public async Task Sync_without_since_returns_the_current_cursor_and_no_events()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        await alice.SendTextAsync(chatId, "already here");

        var response = await bob.Api.GetAsync("/sync");
        response.AssertStatus(HttpStatusCode.OK, "GET /sync");
        Assert.Empty(response.Json.GetProperty("events").EnumerateArray());
        Assert.False(response.Json.Bool("hasMore"));
        var cursor = ChatHelpers.CursorOf(response.Json.GetProperty("cursor"));
        Assert.False(string.IsNullOrEmpty(cursor));

        // From that cursor only what comes later is returned.
        await alice.SendTextAsync(chatId, "after the cursor");
        var later = await bob.SyncAllAsync(cursor);
        var only = Assert.Single(later.Events);
        Assert.Equal("message", only.Str("type"));
        Assert.Equal("after the cursor", only.GetProperty("data").Str("content"));

        // And the final cursor has nothing more behind it.
        Assert.Empty((await bob.SyncAllAsync(later.Cursor)).Events);
    }

    [Fact]
    public async Task Two_hundred_messages_sent_while_offline_all_come_back_in_order_through_sync_and_through_the_socket()
    {
        const int count = 200;
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        var cursor = await bob.CurrentCursorAsync();

        await using (var aliceSocket = await alice.ConnectAsync(Server))
        {
            for (var i = 1; i <= count; i++)
            {
                await aliceSocket.SendAsync(new { action = "sendMessage", chatId, content = $"offline {i}", clientMessageId = $"o{i}" });
            }
            await aliceSocket.WaitForAckAsync($"o{count}", TimeSpan.FromSeconds(30));
        }

        // Paged /sync.
        var sync = await bob.SyncAllAsync(cursor, limit: 50);
        Assert.True(sync.SawHasMore, "200 events in pages of 50 must report hasMore on the first page");
        Assert.True(sync.Pages >= 4, $"expected at least 4 pages, got {sync.Pages}");
        var messages = sync.Events.Where(e => e.Str("type") == "message").Select(e => e.GetProperty("data")).ToList();
        Assert.All(sync.Events, e => Assert.True(e.TryGetProperty("cursor", out var c) && c.ValueKind != JsonValueKind.Null, $"event without cursor: {e}"));
        AssertAllInOrder(messages.Select(m => (m.Str("chatId"), m.Long("seq"), m.Str("content"))).ToList(), chatId, count);

        // Resuming the socket from the same cursor: the missed events first, then live ones.
        await using var bobSocket = await WsClient.ConnectAsync(Server, bob.AccessToken, since: cursor, name: "bob");
        var received = new List<WsFrame>();
        for (var i = 0; i < count; i++)
        {
            received.Add(await bobSocket.WaitForAsync(f => f.Type == "message" && f.Str("chatId") == chatId, what: $"missed message {i + 1}"));
        }
        AssertAllInOrder(received.Select(f => (f.Str("chatId"), f.Data.Long("seq"), f.Str("content"))).ToList(), chatId, count);
        Assert.All(received, f => Assert.NotNull(f.Cursor));

        await alice.SendTextAsync(chatId, "live one");
        var live = await bobSocket.WaitForMessageAsync(chatId, "live one");
        Assert.Equal(count + 1, live.Data.Long("seq"));
        await bobSocket.ExpectNothingAsync(f => f.Type == "message", what: "a duplicate message");
        var allMessages = bobSocket.AllFrames.Where(f => f.Type == "message").ToList();
        Assert.Equal(count + 1, allMessages.Count);
        Assert.Equal(count + 1, allMessages.Select(f => f.MessageId).Distinct().Count());
    }

    [Fact]
    public async Task A_socket_resumed_with_since_gets_exactly_what_it_missed_then_live_events()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);

        string lastCursor;
        await using (var first = await bob.ConnectAsync(Server, name: "bob-before-drop"))
        {
            await alice.SendTextAsync(chatId, "seen live");
            var frame = await first.WaitForMessageAsync(chatId, "seen live");
            lastCursor = frame.Cursor ?? throw new Xunit.Sdk.XunitException($"a message frame without a cursor: {frame}");
        }

        await alice.SendTextAsync(chatId, "missed 1");
        await alice.SendTextAsync(chatId, "missed 2");

        await using var resumed = await WsClient.ConnectAsync(Server, bob.AccessToken, since: lastCursor, name: "bob-resumed");
        var m1 = await resumed.WaitForAsync(f => f.Type == "message", what: "the first missed message");
        var m2 = await resumed.WaitForAsync(f => f.Type == "message", what: "the second missed message");
        Assert.Equal("missed 1", m1.Str("content"));
        Assert.Equal("missed 2", m2.Str("content"));

        await alice.SendTextAsync(chatId, "live after resume");
        var live = await resumed.WaitForAsync(f => f.Type == "message", what: "the live message");
        Assert.Equal("live after resume", live.Str("content"));
        await resumed.ExpectNothingAsync(f => f.Type == "message", what: "a duplicate or an old message");
        Assert.DoesNotContain(resumed.AllFrames, f => f.Str("content") == "seen live");
    }

    [Fact]
    public async Task Sync_pages_of_one_event_return_each_event_once_in_order()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        var cursor = await bob.CurrentCursorAsync();
        for (var i = 1; i <= 5; i++) await alice.SendTextAsync(chatId, $"p{i}");

        var sync = await bob.SyncAllAsync(cursor, limit: 1);
        Assert.True(sync.Pages >= 5, $"5 events in pages of 1 took {sync.Pages} pages");
        Assert.Equal(["p1", "p2", "p3", "p4", "p5"], sync.Events.Select(e => e.GetProperty("data").Field("content")).ToArray());
        // Each event's own cursor resumes right after it.
        var third = ChatHelpers.CursorOf(sync.Events[2].GetProperty("cursor"));
        var rest = await bob.SyncAllAsync(third);
        Assert.Equal(["p4", "p5"], rest.Events.Select(e => e.GetProperty("data").Field("content")).ToArray());
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("many")]
    public async Task A_sync_limit_that_is_not_a_positive_number_is_a_bad_request(string limit)
    {
        var bob = await ApiClient.CreateUserAsync(Server);
        var cursor = await bob.CurrentCursorAsync();
        var response = await bob.Api.GetAsync($"/sync?since={Uri.EscapeDataString(cursor)}&limit={limit}");
        response.AssertStatus(HttpStatusCode.BadRequest, $"GET /sync limit={limit}");
        Assert.NotNull(response.Error);
    }

    [Fact]
    public async Task Messages_sent_while_a_resumed_socket_catches_up_arrive_once_and_in_order()
    {
        const int missed = 300, live = 100;
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        var cursor = await bob.CurrentCursorAsync();
        await using (var aliceSocket = await alice.ConnectAsync(Server))
        {
            for (var i = 1; i <= missed; i++) await aliceSocket.SendAsync(new { action = "sendMessage", chatId, content = $"x{i}", clientMessageId = $"x{i}" });
            await aliceSocket.WaitForAckAsync($"x{missed}", TimeSpan.FromSeconds(30));

            // Bob resumes while Alice keeps writing: the backlog and the live stream overlap.
            var liveSends = Task.Run(async () =>
            {
                for (var i = missed + 1; i <= missed + live; i++) await aliceSocket.SendAsync(new { action = "sendMessage", chatId, content = $"x{i}", clientMessageId = $"x{i}" });
            });
            await using var bobSocket = await WsClient.ConnectAsync(Server, bob.AccessToken, since: cursor, handshake: false, name: "bob");
            await liveSends;

            var seqs = new List<long>();
            for (var i = 0; i < missed + live; i++)
            {
                seqs.Add((await bobSocket.WaitForAsync(f => f.Type == "message" && f.Str("chatId") == chatId, what: $"message {i + 1}")).Data.Long("seq"));
            }
            Assert.Equal(Enumerable.Range(1, missed + live).Select(i => (long)i), seqs);
            await bobSocket.ExpectNothingAsync(f => f.Type == "message", what: "a message delivered twice");
        }
    }

    [Theory]
    [InlineData("not-a-cursor", HttpStatusCode.BadRequest)]
    [InlineData("-5", HttpStatusCode.BadRequest)]
    [InlineData("99999999999999", HttpStatusCode.Gone)]
    public async Task A_malformed_cursor_is_bad_input_and_one_beyond_this_servers_tells_the_client_to_reload(string since, HttpStatusCode status)
    {
        var bob = await ApiClient.CreateUserAsync(Server);
        var response = await bob.Api.GetAsync("/sync?since=" + Uri.EscapeDataString(since));
        Assert.Contains(status == HttpStatusCode.Gone ? "reload" : "not a cursor", response.AssertError(status));
    }

    private static void AssertAllInOrder(List<(string? ChatId, long Seq, string? Content)> messages, string chatId, int count)
    {
        Assert.Equal(count, messages.Count);
        Assert.All(messages, m => Assert.Equal(chatId, m.ChatId));
        Assert.Equal(Enumerable.Range(1, count).Select(i => (long)i), messages.Select(m => m.Seq));
        Assert.Equal(Enumerable.Range(1, count).Select(i => $"offline {i}"), messages.Select(m => m.Content));
    }
}
