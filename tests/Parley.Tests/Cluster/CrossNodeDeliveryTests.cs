using System.Text.Json;
using Npgsql;
using Parley.Tests.Infrastructure;
using Parley.Tests.Storage;


namespace Parley.Tests.Cluster;

/// <summary>Two real server processes on one store (PostgreSQL, or DynamoDB tables): what a user
/// does on one node reaches the sockets on the other, over each bus.</summary>
public abstract class CrossNodeDeliveryTests<TNodes>(TNodes nodes) : IClassFixture<TNodes> where TNodes : TwoNodes
{
    protected TNodes Nodes => nodes;
    private ParleyServer One => nodes.One.Server;
    private ParleyServer Two => nodes.Two.Server;

    /// <summary>A socket that resumes from the user's current cursor: once it answers a ping, the
    /// node has claimed the user's events, so nothing committed after that can miss it.</summary>
    private static async Task<WsClient> ConnectAsync(TestUser user, ParleyServer node, string? name = null) =>
        await user.ConnectAsync(node, await user.CurrentCursorAsync(), name ?? user.Name);

    [ClusterFact]
    public async Task A_websocket_ticket_from_one_node_opens_a_socket_on_the_other_once()
    {
        var ann = await ApiClient.CreateUserAsync(One, "Ann");
        var answer = await ann.Api.PostAsync("/ws/ticket", null);
        answer.AssertStatus(System.Net.HttpStatusCode.OK, "POST /ws/ticket on node one");
        var ticket = answer.Json.Str("ticket")!;

        await using (await WsClient.ConnectAsync(Two, token: null, ticket: ticket))
        {
            // Opened on node two; the ping/pong handshake in ConnectAsync proved the socket works.
        }
        var again = await Assert.ThrowsAsync<WsRefusedException>(() => WsClient.ConnectAsync(One, token: null, ticket: ticket));
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, again.Status);
    }

    [ClusterFact]
    public async Task A_direct_message_reaches_the_recipient_on_the_other_node_and_the_read_receipt_comes_back()
    {
        var ann = await ApiClient.CreateUserAsync(One, "Ann");
        var bob = await ApiClient.CreateUserAsync(Two, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        await using var annSocket = await ConnectAsync(ann, One);
        await using var bobSocket = await ConnectAsync(bob, Two);

        await annSocket.SendAsync(new { action = "sendMessage", chatId, content = "hi from one", clientMessageId = "a1" });
        await annSocket.WaitForAckAsync("a1");
        var received = await bobSocket.WaitForMessageAsync(chatId, "hi from one");
        Assert.Equal(ann.Id, received.Str("senderId"));

        await bobSocket.SendAsync(new { action = "markRead", chatId, messageId = received.MessageId });
        var status = await annSocket.WaitForTypeAsync("status", f => f.Str("messageId") == received.MessageId);
        Assert.Equal(("read", bob.Id), (status.Str("status"), status.Str("userId")));

        await bobSocket.SendAsync(new { action = "sendMessage", chatId, content = "hi from two", clientMessageId = "b1" });
        await annSocket.WaitForMessageAsync(chatId, "hi from two");
    }

    [ClusterFact]
    public async Task A_socket_opened_without_since_gets_what_is_sent_on_the_other_node_once_it_answered_a_ping()
    {
        // Fresh users each round: the window is right after a user's first socket on a node.
        for (var round = 0; round < 5; round++)
        {
            var ann = await ApiClient.CreateUserAsync(One, $"Ann {round}");
            var bob = await ApiClient.CreateUserAsync(Two, $"Bob {round}");
            var chatId = await ann.OpenChatWithAsync(bob);
            await using var annSocket = await ann.ConnectAsync(One, name: "ann on one");
            await annSocket.SendAsync(new { action = "ping" });
            await annSocket.WaitForTypeAsync("pong");

            await using var bobSocket = await bob.ConnectAsync(Two, name: "bob on two");
            await bobSocket.SendAsync(new { action = "ping" });
            await bobSocket.WaitForTypeAsync("pong");
            // Right then, on the other node: a message and a typing signal.
            await annSocket.SendAsync(new { action = "typing", chatId, isTyping = true });
            await ann.SendTextAsync(chatId, $"right after connect {round}");

            await bobSocket.WaitForMessageAsync(chatId, $"right after connect {round}");
            var typing = await bobSocket.WaitForTypeAsync("typing", f => f.Str("userId") == ann.Id);
            Assert.True(typing.Data.GetProperty("isTyping").GetBoolean());
        }
    }

    [ClusterFact]
    public async Task A_block_made_on_one_node_hides_the_blockers_presence_and_typing_on_every_node_at_once()
    {
        var alice = await ApiClient.CreateUserAsync(One, "Alice");
        var bob = await ApiClient.CreateUserAsync(Two, "Bob");
        var chatId = await alice.OpenChatWithAsync(bob);
        await using var bobSocket = await ConnectAsync(bob, Two);
        await using var aliceOnOne = await ConnectAsync(alice, One, "alice on one");
        await using var aliceOnTwo = await ConnectAsync(alice, Two, "alice on two");
        await bobSocket.WaitForTypeAsync("presence", f => f.Str("userId") == alice.Id && f.Data.GetProperty("online").GetBoolean());
        // Bob's node has read Alice's block list (empty) for her typing before the block.
        await aliceOnTwo.SendAsync(new { action = "typing", chatId, isTyping = true });
        await bobSocket.WaitForTypeAsync("typing", f => f.Str("userId") == alice.Id && f.Data.GetProperty("isTyping").GetBoolean());

        (await alice.Api.PostAsync($"/users/{bob.Id}/block", new { })).AssertStatus(System.Net.HttpStatusCode.NoContent, "block on node one");

        var presence = await bobSocket.WaitForTypeAsync("presence", f => f.Str("userId") == alice.Id && !f.Data.GetProperty("online").GetBoolean());
        Assert.Equal(0, presence.Data.GetProperty("lastSeen").GetInt64());
        await bobSocket.WaitForTypeAsync("typing", f => f.Str("userId") == alice.Id && !f.Data.GetProperty("isTyping").GetBoolean());
        for (var i = 0; i < 5; i++)
        {
            await aliceOnTwo.SendAsync(new { action = "typing", chatId, isTyping = true });
            await aliceOnOne.SendAsync(new { action = "typing", chatId, isTyping = true });
            await Task.Delay(300);
        }
        await bobSocket.ExpectNothingAsync(f => f.Str("userId") == alice.Id
            && (f.Type == "typing" && f.Data.GetProperty("isTyping").GetBoolean() || f.Type == "presence" && f.Data.GetProperty("online").GetBoolean()),
            what: "Alice's typing or presence after the block");
        using var bobOnTwo = Two.Api(bob.AccessToken);
        var chat = (await bobOnTwo.GetAsync($"/chats/{chatId}")).Json;
        Assert.False(chat.GetProperty("isTyping").GetBoolean());
        var shown = chat.GetProperty("participants").EnumerateArray().Single(p => p.Str("id") == alice.Id);
        Assert.False(shown.GetProperty("online").GetBoolean());
        Assert.Equal(0, shown.GetProperty("lastSeen").GetInt64());
    }

    [ClusterFact]
    public async Task A_group_message_reaches_members_on_both_nodes_once()
    {
        var admin = await ApiClient.CreateUserAsync(One, "Admin");
        var near = await ApiClient.CreateUserAsync(One, "Near");
        var far = await ApiClient.CreateUserAsync(Two, "Far");
        var farToo = await ApiClient.CreateUserAsync(Two, "Far too");
        var groupId = await admin.CreateGroupAsync("Both nodes", near, far, farToo);
        await using var nearSocket = await ConnectAsync(near, One);
        await using var farSocket = await ConnectAsync(far, Two);
        await using var farTooSocket = await ConnectAsync(farToo, Two);
        await using var farSecondDevice = await ConnectAsync(far, One, "far on one");

        await admin.SendTextAsync(groupId, "hello everyone");
        foreach (var socket in new[] { nearSocket, farSocket, farTooSocket, farSecondDevice })
        {
            await socket.WaitForMessageAsync(groupId, "hello everyone");
            await socket.ExpectNothingAsync(f => f.Type == "message" && f.Str("content") == "hello everyone", TimeSpan.FromMilliseconds(300), "a second copy");
        }
    }

    [ClusterFact]
    public async Task Typing_crosses_nodes()
    {
        var ann = await ApiClient.CreateUserAsync(One, "Ann");
        var bob = await ApiClient.CreateUserAsync(Two, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        await using var annSocket = await ConnectAsync(ann, One);
        await using var bobSocket = await ConnectAsync(bob, Two);
        await ClusterWait.WaitUntilAsync(async () => (await ann.ChatAsync(chatId)).GetProperty("participants").EnumerateArray()
            .Any(p => p.Str("id") == bob.Id && p.GetProperty("online").GetBoolean()), "Ann's node sees Bob online");

        await annSocket.SendAsync(new { action = "typing", chatId, isTyping = true });
        var typing = await bobSocket.WaitForTypeAsync("typing", f => f.Str("userId") == ann.Id);
        Assert.True(typing.Data.GetProperty("isTyping").GetBoolean());
        await bobSocket.SendAsync(new { action = "typing", chatId, isTyping = false });
        var stopped = await annSocket.WaitForTypeAsync("typing", f => f.Str("userId") == bob.Id);
        Assert.False(stopped.Data.GetProperty("isTyping").GetBoolean());
    }

    [ClusterFact]
    public async Task A_profile_change_on_one_node_reaches_contacts_on_the_other()
    {
        var ann = await ApiClient.CreateUserAsync(One, "Ann");
        var bob = await ApiClient.CreateUserAsync(Two, "Bob");
        await ann.OpenChatWithAsync(bob);
        await using var bobSocket = await ConnectAsync(bob, Two);

        (await ann.Api.PatchAsync("/users/me", new { name = "Ann Other", about = "on node one" })).AssertStatus(System.Net.HttpStatusCode.OK, "PATCH /users/me on one");
        var frame = await bobSocket.WaitForTypeAsync("user", f => f.Str("userId") == ann.Id);
        Assert.Equal("Ann Other", frame.Str("name"));
        Assert.Equal("on node one", frame.Str("about"));
    }

    [ClusterFact]
    public async Task A_user_is_online_while_any_node_holds_a_socket()
    {
        var watcherOne = await ApiClient.CreateUserAsync(One, "Watcher one");
        var watcherTwo = await ApiClient.CreateUserAsync(Two, "Watcher two");
        var roamer = await ApiClient.CreateUserAsync(One, "Roamer");
        var chatOne = await watcherOne.OpenChatWithAsync(roamer);
        var chatTwo = await watcherTwo.OpenChatWithAsync(roamer);
        await using var seenFromOne = await ConnectAsync(watcherOne, One);
        await using var seenFromTwo = await ConnectAsync(watcherTwo, Two);

        // Online on node two only: both watchers hear it.
        var roamerOnTwo = await ConnectAsync(roamer, Two, "roamer on two");
        await seenFromOne.WaitForTypeAsync("presence", f => f.Str("userId") == roamer.Id && f.Data.GetProperty("online").GetBoolean());
        await seenFromTwo.WaitForTypeAsync("presence", f => f.Str("userId") == roamer.Id && f.Data.GetProperty("online").GetBoolean());
        Assert.True(await ClusterWait.OnlineAsync(watcherOne, chatOne, roamer.Id));

        // Also on node one, then gone from node two: still online everywhere, no offline notice.
        await using var roamerOnOne = await ConnectAsync(roamer, One, "roamer on one");
        await roamerOnTwo.CloseAsync();
        await roamerOnTwo.DisposeAsync();
        await seenFromTwo.ExpectNothingAsync(f => f.Type == "presence" && f.Str("userId") == roamer.Id && !f.Data.GetProperty("online").GetBoolean(),
            TimeSpan.FromSeconds(3), "an offline notice while the roamer is on node one");
        Assert.True(await ClusterWait.OnlineAsync(watcherTwo, chatTwo, roamer.Id));

        // Gone from node one too: offline everywhere.
        await roamerOnOne.CloseAsync();
        await seenFromOne.WaitForTypeAsync("presence", f => f.Str("userId") == roamer.Id && !f.Data.GetProperty("online").GetBoolean());
        await seenFromTwo.WaitForTypeAsync("presence", f => f.Str("userId") == roamer.Id && !f.Data.GetProperty("online").GetBoolean());
        Assert.False(await ClusterWait.OnlineAsync(watcherTwo, chatTwo, roamer.Id));
    }

    [ClusterFact]
    public async Task Parallel_senders_on_both_nodes_into_one_chat_get_every_seq_once_and_every_socket_sees_them_in_order()
    {
        var senders = new List<(TestUser User, ParleyServer Node)>();
        for (var i = 0; i < 4; i++)
        {
            var node = i % 2 == 0 ? One : Two;
            senders.Add((await ApiClient.CreateUserAsync(node, $"Sender {i}"), node));
        }
        var groupId = await senders[0].User.CreateGroupAsync("Busy", senders.Skip(1).Select(s => s.User).ToArray());
        var sockets = new List<WsClient>();
        foreach (var (user, node) in senders) sockets.Add(await ConnectAsync(user, node));
        // A listener on each node that sends nothing.
        var listener = await ApiClient.CreateUserAsync(One, "Listener");
        await senders[0].User.Api.PostAsync($"/groups/{groupId}/members", new { memberIds = new[] { listener.Id } });
        sockets.Add(await ConnectAsync(listener, One, "listener on one"));
        sockets.Add(await ConnectAsync(listener, Two, "listener on two"));

        const int PerSender = 25;
        await Task.WhenAll(senders.Select((s, i) => Task.Run(async () =>
        {
            for (var n = 0; n < PerSender; n++)
            {
                await sockets[i].SendAsync(new { action = "sendMessage", chatId = groupId, content = $"s{i}-{n}", clientMessageId = $"s{i}-{n}" });
            }
            for (var n = 0; n < PerSender; n++) await sockets[i].WaitForAckAsync($"s{i}-{n}", TimeSpan.FromSeconds(30));
        })));

        var history = await senders[0].User.MessagesOldestFirstAsync(groupId);
        var texts = history.Where(m => m.Str("type") == "text").ToList();
        Assert.Equal(4 * PerSender, texts.Count);
        Assert.Equal(4 * PerSender, texts.Select(m => m.Str("content")).Distinct().Count());
        var seqs = history.Select(m => m.GetProperty("seq").GetInt64()).ToList();
        Assert.Equal(Enumerable.Range(1, seqs.Count).Select(i => (long)i), seqs);

        // Each socket sees every message once (its own sends come back as acks), in seq order.
        for (var i = 0; i < sockets.Count; i++)
        {
            var own = i < senders.Count ? $"s{i}-" : null;
            var expected = texts.Where(m => own is null || !m.Str("content")!.StartsWith(own, StringComparison.Ordinal)).Select(m => m.Str("content")).ToList();
            var got = new List<(string? Content, long Seq)>();
            foreach (var content in expected)
            {
                var frame = await sockets[i].WaitForMessageAsync(groupId, content!, TimeSpan.FromSeconds(20));
                got.Add((content, frame.Data.GetProperty("seq").GetInt64()));
            }
            var seen = sockets[i].AllFrames.Where(f => f.Type == "message" && f.Str("chatId") == groupId && f.Str("type") == "text").ToList();
            Assert.Equal(expected.Count, seen.Count);
            var order = seen.Select(f => f.Data.GetProperty("seq").GetInt64()).ToList();
            Assert.Equal(order.Order(), order);
        }
        foreach (var socket in sockets) await socket.DisposeAsync();
    }

    [ClusterFact]
    public async Task Parallel_senders_into_many_chats_on_both_nodes_store_side_by_side_with_contiguous_seq_and_nothing_lost()
    {
        // Two writers: each node holds its own writer of the event stream, and nothing else orders them.
        Assert.True(await nodes.WritersHeldAsync() >= 2, "each node holds a writer of its own");
        var reader = await ApiClient.CreateUserAsync(One, "Reader");
        var start = await reader.CurrentCursorAsync();
        const int Chats = 8;
        const int PerSide = 15;
        var chats = new List<(string ChatId, TestUser OnOne, TestUser OnTwo)>();
        for (var c = 0; c < Chats; c++)
        {
            var onOne = await ApiClient.CreateUserAsync(One, $"Left {c}");
            var onTwo = await ApiClient.CreateUserAsync(Two, $"Right {c}");
            var groupId = await onOne.CreateGroupAsync($"Pair {c}", onTwo, reader);
            chats.Add((groupId, onOne, onTwo));
        }
        await using var readerOnTwo = await ConnectAsync(reader with { Api = Two.Api(reader.AccessToken) }, Two, "reader on two");

        // Every chat gets sends from both nodes at once; the chats run side by side.
        await Task.WhenAll(chats.SelectMany(chat => new[] { (chat.ChatId, User: chat.OnOne), (chat.ChatId, User: chat.OnTwo) })
            .Select(side => Task.Run(async () =>
            {
                for (var n = 0; n < PerSide; n++) await side.User.SendTextAsync(side.ChatId, $"{side.User.Name} {n}", $"{side.User.Id}-{n}");
            })));

        foreach (var (chatId, onOne, onTwo) in chats)
        {
            var texts = (await onOne.MessagesOldestFirstAsync(chatId)).Where(m => m.Str("type") == "text").ToList();
            Assert.Equal(2 * PerSide, texts.Count);
            var seqs = texts.Select(m => m.GetProperty("seq").GetInt64()).ToList();
            Assert.Equal(Enumerable.Range(2, 2 * PerSide).Select(i => (long)i), seqs); // seq 1 is group_created
            // Each side's messages keep the order they were sent in.
            foreach (var side in new[] { onOne, onTwo })
            {
                var mine = texts.Where(m => m.Str("senderId") == side.Id).Select(m => m.Str("content")).ToList();
                Assert.Equal(Enumerable.Range(0, PerSide).Select(n => $"{side.Name} {n}"), mine);
            }
        }

        // The reader's socket on node two got every message once, each chat in seq order.
        foreach (var (chatId, onOne, onTwo) in chats)
        {
            await readerOnTwo.WaitForMessageAsync(chatId, $"{onOne.Name} {PerSide - 1}", TimeSpan.FromSeconds(20));
            await readerOnTwo.WaitForMessageAsync(chatId, $"{onTwo.Name} {PerSide - 1}", TimeSpan.FromSeconds(20));
        }
        foreach (var (chatId, _, _) in chats)
        {
            var live = readerOnTwo.AllFrames.Where(f => f.Type == "message" && f.Str("chatId") == chatId && f.Str("type") == "text")
                .Select(f => f.Data.GetProperty("seq").GetInt64()).ToList();
            Assert.Equal(Enumerable.Range(2, 2 * PerSide).Select(i => (long)i), live);
        }

        // Sync from before it all, in small pages alternating between the nodes: every message once,
        // each chat in seq order, and the last cursor resumes with nothing more.
        var onTwoApi = reader with { Api = Two.Api(reader.AccessToken) };
        var cursor = start;
        var synced = new List<JsonElement>();
        for (var page = 0; ; page++)
        {
            var answer = await (page % 2 == 0 ? reader : onTwoApi).Api.GetAsync($"/sync?since={Uri.EscapeDataString(cursor)}&limit=7");
            answer.AssertStatus(System.Net.HttpStatusCode.OK, "GET /sync");
            synced.AddRange(answer.Json.GetProperty("events").EnumerateArray());
            cursor = ChatHelpers.CursorOf(answer.Json.GetProperty("cursor"));
            if (!answer.Json.GetProperty("hasMore").GetBoolean()) break;
            Assert.True(page < 500, "sync paging ends");
        }
        var messages = synced.Where(e => e.Str("type") == "message").Select(e => e.GetProperty("data")).Where(m => m.Str("type") == "text").ToList();
        Assert.Equal(Chats * 2 * PerSide, messages.Count);
        Assert.Equal(messages.Count, messages.Select(m => m.Str("id")).Distinct().Count());
        foreach (var (chatId, _, _) in chats)
        {
            Assert.Equal(Enumerable.Range(2, 2 * PerSide).Select(i => (long)i),
                messages.Where(m => m.Str("chatId") == chatId).Select(m => m.GetProperty("seq").GetInt64()));
        }
        Assert.Empty((await onTwoApi.SyncAllAsync(cursor)).Events);
        Assert.Empty((await reader.SyncAllAsync(cursor)).Events);
    }

    [ClusterFact]
    public async Task Sockets_that_resume_while_both_nodes_send_get_every_message_once_in_order()
    {
        var ann = await ApiClient.CreateUserAsync(One, "Ann");
        var cid = await ApiClient.CreateUserAsync(Two, "Cid");
        var bob = await ApiClient.CreateUserAsync(Two, "Bob");
        var fromOne = await ann.OpenChatWithAsync(bob);
        var fromTwo = await cid.OpenChatWithAsync(bob);
        var since = await bob.CurrentCursorAsync();
        const int Sends = 40;
        var sending = Task.WhenAll(
            Task.Run(async () => { for (var i = 0; i < Sends; i++) await ann.SendTextAsync(fromOne, $"m{i}"); }),
            Task.Run(async () => { for (var i = 0; i < Sends; i++) await cid.SendTextAsync(fromTwo, $"m{i}"); }));
        // Each socket's backlog (from the store) and its live frames (from this node's writers and
        // the other node's) meet at a different point of the sends.
        var sockets = new List<WsClient>();
        while (!sending.IsCompleted && sockets.Count < 7)
        {
            sockets.Add(await bob.ConnectAsync(Two, since, $"bob {sockets.Count}"));
            await Task.Delay(40);
        }
        await sending;
        sockets.Add(await bob.ConnectAsync(Two, since, "bob after the sends"));
        foreach (var socket in sockets)
        {
            foreach (var chatId in new[] { fromOne, fromTwo })
            {
                await socket.WaitForMessageAsync(chatId, $"m{Sends - 1}");
                var seen = socket.AllFrames.Where(f => f.Type == "message" && f.Str("chatId") == chatId).Select(f => f.Str("content")).ToList();
                Assert.Equal(Enumerable.Range(0, Sends).Select(i => $"m{i}"), seen);
            }
            await socket.DisposeAsync();
        }
    }

    [ClusterFact]
    public async Task Deleting_an_account_on_one_node_closes_its_sockets_on_the_other()
    {
        var leaver = await ApiClient.CreateUserAsync(One, "Leaver");
        await using var elsewhere = await ConnectAsync(leaver, Two, "leaver on two");
        var deleted = await leaver.Api.DeleteAsync("/users/me");
        Assert.Equal(System.Net.HttpStatusCode.NoContent, deleted.Status);
        await elsewhere.WaitForEndAsync();
        // Other nodes refuse the old access token within seconds (they re-read the revocation moment).
        using var api = Two.Api(leaver.AccessToken);
        await ClusterWait.WaitUntilAsync(async () => (await api.GetAsync("/users/me")).Status == System.Net.HttpStatusCode.Unauthorized,
            "node two refuses the deleted account's token");
    }

    [ClusterFact]
    public async Task Logging_out_on_one_node_ends_the_session_on_the_other_and_only_that_session()
    {
        var user = await ApiClient.CreateUserAsync(One, "Logs Out");
        var kept = await Accounts.LoginAsync(One, user.Email);
        await using var ending = await ConnectAsync(user, Two, "ending session on two");
        await using var staying = await WsClient.ConnectAsync(Two, kept.AccessToken, await user.CurrentCursorAsync(), name: "kept session on two");
        using var anonymous = One.Api();

        (await anonymous.PostAsync("/auth/logout", new { refreshToken = user.RefreshToken })).AssertStatus(System.Net.HttpStatusCode.NoContent, "logout on one");

        await ending.WaitForEndAsync();
        Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.PolicyViolation, ending.CloseStatus);
        // The socket closed because node two took note of the revocation: from then on it refuses the token.
        using var endedOnTwo = Two.Api(user.AccessToken);
        (await endedOnTwo.GetAsync("/users/me")).AssertError(System.Net.HttpStatusCode.Unauthorized);
        await staying.AssertAliveAsync();
        using var keptOnTwo = Two.Api(kept.AccessToken);
        (await keptOnTwo.GetAsync("/users/me")).AssertStatus(System.Net.HttpStatusCode.OK, "the other session on two");
    }

    /// <summary>Cuts a node's subscribing connection to the bus, as a network failure would.</summary>
    protected abstract Task DropBusConnectionAsync(string nodeId);
}

/// <summary>What two nodes on one PostgreSQL do beyond the common suite: chat rows locked by one
/// node, writer rows taken over, and events read back from the store after the bus was away.</summary>
public abstract class CrossNodeDeliveryOnPostgresTests<TNodes>(TNodes nodes) : CrossNodeDeliveryTests<TNodes>(nodes) where TNodes : TwoNodes
{
    private ParleyServer One => Nodes.One.Server;
    private ParleyServer Two => Nodes.Two.Server;

    private static async Task<WsClient> ConnectAsync(TestUser user, ParleyServer node, string? name = null) =>
        await user.ConnectAsync(node, await user.CurrentCursorAsync(), name ?? user.Name);

    [ClusterFact]
    public async Task A_chat_held_locked_on_one_node_does_not_hold_back_a_send_into_another_chat_on_the_other()
    {
        var ann = await ApiClient.CreateUserAsync(One, "Ann");
        var bob = await ApiClient.CreateUserAsync(One, "Bob");
        var cid = await ApiClient.CreateUserAsync(Two, "Cid");
        var held = await ann.OpenChatWithAsync(bob);
        var free = await cid.OpenChatWithAsync(bob);

        await using var hold = await RowHold.TakeAsync(Nodes.ConnectionString, "SELECT 1 FROM chats WHERE id = $1 FOR UPDATE", held);
        // Node one's writer takes its send into the held chat and waits on the chat's row, inside its
        // transaction, holding its own writer row.
        var stuck = ann.SendTextAsync(held, "waits for the lock");
        await hold.UntilWaitingAsync(stuck, 1, "node one's send waits on the chat's row lock");

        // Node two's send into another chat does not queue behind it.
        var sent = await cid.SendTextAsync(free, "goes through").WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("goes through", sent.Str("content"));
        Assert.False(stuck.IsCompleted);

        await hold.ReleaseAsync();
        var late = await stuck.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("waits for the lock", late.Str("content"));
    }

    [ClusterFact]
    public async Task A_send_stored_on_one_node_while_its_sender_is_deleted_on_the_other_says_Deleted_account()
    {
        var ann = await ApiClient.CreateUserAsync(One, "Ann");
        var quill = await ApiClient.CreateUserAsync(One, "Bartholomew Quill");
        var direct = await ann.OpenChatWithAsync(quill);
        await quill.SendTextAsync(direct, "before");

        // The send's last step waits on Quill's own member row, after it has read Quill's name and
        // taken its position.
        await using var hold = await RowHold.TakeAsync(Nodes.ConnectionString,
            "SELECT 1 FROM members WHERE chat_id = $1 AND user_id = $2 FOR UPDATE", direct, quill.Id);
        var send = quill.Api.PostAsync($"/chats/{direct}/messages", new { content = "in flight" });
        await hold.UntilWaitingAsync(send, 1, "node one's send waits on the member row");
        var deletion = await DeleteOnTwoWhileHeldAsync(quill, hold);

        (await send).AssertStatus(System.Net.HttpStatusCode.Created, "the send in flight");
        deletion.AssertStatus(System.Net.HttpStatusCode.NoContent, "DELETE /users/me on node two");
        var quills = (await ann.HistoryAsync(direct)).Where(m => m.Str("senderId") == quill.Id).ToList();
        Assert.Equal(2, quills.Count);
        Assert.All(quills, m => Assert.Equal("Deleted account", m.Str("senderName")));
    }

    [ClusterFact]
    public async Task A_member_added_on_one_node_while_the_account_is_deleted_on_the_other_is_named_Deleted_account()
    {
        var ann = await ApiClient.CreateUserAsync(One, "Ann");
        var bob = await ApiClient.CreateUserAsync(One, "Bob");
        var quill = await ApiClient.CreateUserAsync(One, "Bartholomew Quill");
        var group = await ann.CreateGroupAsync("Joined late", bob);

        // The system message's last step waits on Ann's member row (her own-message count), after
        // the message has read Quill's name.
        await using var hold = await RowHold.TakeAsync(Nodes.ConnectionString,
            "SELECT 1 FROM members WHERE chat_id = $1 AND user_id = $2 FOR UPDATE", group, ann.Id);
        var adding = ann.Api.PostAsync($"/groups/{group}/members", new { memberIds = new[] { quill.Id } });
        await hold.UntilWaitingAsync(adding, 1, "node one's member_added message waits on Ann's member row");
        var deletion = await DeleteOnTwoWhileHeldAsync(quill, hold);

        (await adding).AssertStatus(System.Net.HttpStatusCode.OK, "POST /groups/{id}/members");
        deletion.AssertStatus(System.Net.HttpStatusCode.NoContent, "DELETE /users/me on node two");
        var added = (await bob.HistoryAsync(group)).Single(m => m.Str("systemAction") == "member_added");
        Assert.DoesNotContain("Quill", added.GetRawText(), StringComparison.Ordinal);
        Assert.Contains("Deleted account", added.GetRawText(), StringComparison.Ordinal);
    }

    /// <summary>Deletes the account through node two while node one's write is held, and lets that
    /// write go once the deletion has either finished or waits for it: the deletion waits for every
    /// message that read the account's name. (Without that, it finished here, and the held message
    /// then committed the old name where the deletion's renaming had already passed.)</summary>
    private async Task<ApiClient.Response> DeleteOnTwoWhileHeldAsync(TestUser user, RowHold hold)
    {
        var deletion = Two.Api(user.AccessToken).DeleteAsync("/users/me");
        await hold.UntilWaitingAsync(deletion, 2, "node two's deletion finishes or waits for node one's write");
        await hold.ReleaseAsync();
        return await deletion.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [ClusterFact]
    public async Task A_node_whose_writer_row_was_taken_takes_another_and_its_sends_still_arrive_once()
    {
        var ann = await ApiClient.CreateUserAsync(One, "Ann");
        var bob = await ApiClient.CreateUserAsync(Two, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        var cursor = await bob.CurrentCursorAsync();
        await using var bobSocket = await ConnectAsync(bob, Two);
        var first = await ann.SendTextAsync(chatId, "under the first row");
        await bobSocket.WaitForMessageAsync(chatId, "under the first row");

        // As if node one had stalled past its lease and another node had taken its row.
        await using var db = new NpgsqlConnection(Nodes.ConnectionString);
        await db.OpenAsync();
        var writerOf = async (string messageId) =>
        {
            await using var query = new NpgsqlCommand("SELECT writer FROM messages WHERE id = $1", db);
            query.Parameters.Add(new NpgsqlParameter { Value = messageId });
            return (int)(await query.ExecuteScalarAsync())!;
        };
        var lost = await writerOf(first.Str("id")!);
        await using (var take = new NpgsqlCommand("UPDATE stream SET owner = 'another node', lease_until = now() + interval '5 seconds' WHERE id = $1", db))
        {
            take.Parameters.Add(new NpgsqlParameter { Value = lost });
            Assert.Equal(1, await take.ExecuteNonQueryAsync());
        }

        var second = await ann.SendTextAsync(chatId, "under another row");
        Assert.NotEqual(lost, await writerOf(second.Str("id")!));
        await bobSocket.WaitForMessageAsync(chatId, "under another row");
        var live = bobSocket.AllFrames.Where(f => f.Type == "message" && f.Str("chatId") == chatId).Select(f => f.Str("content")).ToList();
        Assert.Equal(["under the first row", "under another row"], live);
        var synced = (await bob.SyncAllAsync(cursor)).Events.Where(e => e.Str("type") == "message")
            .Select(e => e.GetProperty("data").Str("content")).ToList();
        Assert.Equal(["under the first row", "under another row"], synced);
    }

    [ClusterFact]
    public async Task A_node_whose_listening_connection_drops_reconnects_and_delivers_what_it_missed()
    {
        var ann = await ApiClient.CreateUserAsync(One, "Ann");
        var bob = await ApiClient.CreateUserAsync(Two, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        await using var bobSocket = await ConnectAsync(bob, Two);

        await DropBusConnectionAsync("node-two");
        // Sent while node two may not be listening: it reads them from the store when it is back.
        for (var i = 0; i < 5; i++) await ann.SendTextAsync(chatId, $"through the outage {i}");
        for (var i = 0; i < 5; i++) await bobSocket.WaitForMessageAsync(chatId, $"through the outage {i}", TimeSpan.FromSeconds(20));
        await ann.SendTextAsync(chatId, "after the outage");
        await bobSocket.WaitForMessageAsync(chatId, "after the outage");
        var seen = bobSocket.AllFrames.Where(f => f.Type == "message").Select(f => f.Str("content")).ToList();
        Assert.Equal(6, seen.Count);
    }
}

public sealed class CrossNodeDeliveryOnPostgresBus(TwoNodesOnPostgresBus nodes) : CrossNodeDeliveryOnPostgresTests<TwoNodesOnPostgresBus>(nodes)
{
    protected override async Task DropBusConnectionAsync(string nodeId)
    {
        await using var admin = new NpgsqlConnection(Nodes.ConnectionString);
        await admin.OpenAsync();
        await using var kill = new NpgsqlCommand(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", admin);
        kill.Parameters.Add(new NpgsqlParameter { Value = "parley-listener " + nodeId });
        Assert.Equal(1L, (long)(await kill.ExecuteScalarAsync())!);
    }
}

public sealed class CrossNodeDeliveryOnRedisBus(TwoNodesOnRedisBus nodes) : CrossNodeDeliveryOnPostgresTests<TwoNodesOnRedisBus>(nodes), IRequiresRedis
{
    protected override async Task DropBusConnectionAsync(string nodeId) => await RedisAdmin.KillClientsAsync(TestRedis.ClientName(Nodes.Cluster, nodeId));
}

/// <summary>Two nodes on one set of DynamoDB tables over Redis: announcements carry the events,
/// since nodes cannot read each other's back by writer.</summary>
public sealed class CrossNodeDeliveryOnDynamoDb(TwoNodesOnDynamoDb nodes) : CrossNodeDeliveryTests<TwoNodesOnDynamoDb>(nodes), IRequiresDynamoDb
{
    protected override async Task DropBusConnectionAsync(string nodeId) => await RedisAdmin.KillClientsAsync(TestRedis.ClientName(Nodes.Cluster, nodeId));

    [ClusterFact]
    public async Task A_node_whose_bus_connection_drops_closes_its_sockets_and_their_clients_resume_with_nothing_lost()
    {
        var ann = await ApiClient.CreateUserAsync(Nodes.One.Server, "Ann");
        var bob = await ApiClient.CreateUserAsync(Nodes.Two.Server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        var bobSocket = await bob.ConnectAsync(Nodes.Two.Server, await bob.CurrentCursorAsync(), "bob before the outage");
        await ann.SendTextAsync(chatId, "before the outage");
        var cursor = (await bobSocket.WaitForMessageAsync(chatId, "before the outage")).Cursor;

        await DropBusConnectionAsync("node-two");
        // Announcements over the bus may be lost while it is away, and cannot be read back from
        // DynamoDB: node two closes its sockets so their clients resume from the store.
        await bobSocket.WaitForEndAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.EndpointUnavailable, bobSocket.CloseStatus);
        await bobSocket.DisposeAsync();
        for (var i = 0; i < 5; i++) await ann.SendTextAsync(chatId, $"through the outage {i}");

        await using var resumed = await bob.ConnectAsync(Nodes.Two.Server, cursor, "bob after the outage");
        for (var i = 0; i < 5; i++) await resumed.WaitForMessageAsync(chatId, $"through the outage {i}", TimeSpan.FromSeconds(20));
        await ann.SendTextAsync(chatId, "after the outage");
        await resumed.WaitForMessageAsync(chatId, "after the outage");
        var seen = resumed.AllFrames.Where(f => f.Type == "message").Select(f => f.Str("content")).ToList();
        Assert.Equal([.. Enumerable.Range(0, 5).Select(i => $"through the outage {i}"), "after the outage"], seen);
    }
}

/// <summary>A node killed with SIGKILL: its registration expires, and its clients resume on another
/// node with <c>since</c> and lose nothing.</summary>
public abstract class NodeFailureTests : NodesOnOwnDatabase
{

    [ClusterFact]
    public async Task Clients_of_a_killed_node_resume_on_another_with_nothing_lost()
    {
        await using var survivor = await StartNodeAsync("survivor");
        await using var victim = await StartNodeAsync("victim");
        var ann = await ApiClient.CreateUserAsync(survivor.Server, "Ann");
        var bob = await ApiClient.CreateUserAsync(victim.Server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        await using var annSocket = await ann.ConnectAsync(survivor.Server, await ann.CurrentCursorAsync());
        var bobSocket = await bob.ConnectAsync(victim.Server, await bob.CurrentCursorAsync(), "bob on victim");

        for (var i = 0; i < 5; i++) await ann.SendTextAsync(chatId, $"before {i}");
        string? cursor = null;
        for (var i = 0; i < 5; i++) cursor = (await bobSocket.WaitForMessageAsync(chatId, $"before {i}")).Cursor;
        Assert.NotNull(cursor);

        await victim.KillAsync();
        await bobSocket.WaitForEndAsync(TimeSpan.FromSeconds(10));
        await bobSocket.DisposeAsync();
        // Sent while Bob has no socket anywhere (and his node's rows still look alive).
        for (var i = 0; i < 5; i++) await ann.SendTextAsync(chatId, $"during {i}");

        // The killed node's registration expires within seconds.
        await ClusterWait.WaitUntilAsync(async () => !await ClusterWait.OnlineAsync(ann, chatId, bob.Id),
            "the survivor stops counting Bob online through the dead node", seconds: 20);
        // Ann is told (the announcement may leave a moment after the survivor's count changes).
        await annSocket.WaitForAsync(f => f.IsPresenceOf(bob.Id, false),
            TimeSpan.FromSeconds(20), what: "Bob offline with his node");

        // Bob resumes on the survivor from the last cursor he saw: every missed message once, in order, then live ones.
        await using var resumed = await bob.ConnectAsync(survivor.Server, cursor, "bob on survivor");
        for (var i = 0; i < 5; i++) await resumed.WaitForMessageAsync(chatId, $"during {i}");
        await ann.SendTextAsync(chatId, "after");
        await resumed.WaitForMessageAsync(chatId, "after");
        var messages = resumed.AllFrames.Where(f => f.Type == "message" && f.Str("chatId") == chatId).Select(f => f.Str("content")).ToList();
        Assert.Equal(["during 0", "during 1", "during 2", "during 3", "during 4", "after"], messages);

        Assert.True(await ClusterWait.OnlineAsync(ann, chatId, bob.Id));
        var presence = annSocket.AllFrames.Where(f => f.Type == "presence" && f.Str("userId") == bob.Id).Select(f => f.Data.GetProperty("online").GetBoolean()).ToList();
        Assert.Equal([true, false, true], presence);
    }
}

public sealed class NodeFailureOnPostgresBus : NodeFailureTests
{
    protected override ClusterBus Bus => ClusterBus.Postgres;
}

public sealed class NodeFailureOnRedisBus : NodeFailureTests, IRequiresRedis
{
    protected override ClusterBus Bus => ClusterBus.Redis;
}

public sealed class NodeFailureOnDynamoDb : NodeFailureTests, IRequiresDynamoDb
{
    protected override ClusterBus Bus => ClusterBus.Redis;
    protected override ClusterStore Store => ClusterStore.DynamoDb;
}

/// <summary>Waiting for what a cluster shows eventually.</summary>
/// <summary>A row held locked by a transaction of the test's own, as a slow writer would hold it,
/// and how many of the database's sessions wait on a lock meanwhile.</summary>
public sealed class RowHold : IAsyncDisposable
{
    private readonly NpgsqlConnection _db;
    private NpgsqlTransaction? _transaction;

    private RowHold(NpgsqlConnection db, NpgsqlTransaction transaction) => (_db, _transaction) = (db, transaction);

    public static async Task<RowHold> TakeAsync(string connectionString, string lockSql, params object[] args)
    {
        var db = new NpgsqlConnection(connectionString);
        await db.OpenAsync();
        var transaction = await db.BeginTransactionAsync();
        await using var take = new NpgsqlCommand(lockSql, db, transaction);
        foreach (var arg in args) take.Parameters.Add(new NpgsqlParameter { Value = arg });
        Assert.NotNull(await take.ExecuteScalarAsync());
        return new RowHold(db, transaction);
    }

    /// <summary>Waits until <paramref name="sessions"/> sessions wait on a lock, or
    /// <paramref name="request"/> has answered.</summary>
    public Task UntilWaitingAsync(Task request, int sessions, string what) => ClusterWait.WaitUntilAsync(async () =>
    {
        if (request.IsCompleted) return true;
        await using var waiting = new NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'", _db, _transaction);
        return (long)(await waiting.ExecuteScalarAsync())! >= sessions;
    }, what);

    public async Task ReleaseAsync()
    {
        if (_transaction is null) return;
        await _transaction.RollbackAsync();
        _transaction = null;
    }

    public async ValueTask DisposeAsync()
    {
        await ReleaseAsync();
        await _db.DisposeAsync();
    }
}

public static class ClusterWait
{
    internal static async Task<bool> OnlineAsync(TestUser viewer, string chatId, string userId) =>
        (await viewer.ChatAsync(chatId)).GetProperty("participants").EnumerateArray()
            .Single(p => p.Str("id") == userId).GetProperty("online").GetBoolean();

    internal static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, int seconds = 15)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < deadline)
        {
            if (await condition()) return;
            await Task.Delay(100);
        }
        throw new Xunit.Sdk.XunitException($"Timed out waiting until {what}.");
    }
}
