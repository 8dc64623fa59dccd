using Parley.Tests.Infrastructure;

namespace Parley.Tests.Realtime;

public sealed class WsChatTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    [Fact]
    public async Task Two_users_chat_both_ways_over_the_socket_and_rest()
    {
        var alice = await ApiClient.CreateUserAsync(Server, "Alice");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var chatId = await alice.OpenChatWithAsync(bob);
        await using var aliceSocket = await alice.ConnectAsync(Server, name: "alice");
        await using var bobSocket = await bob.ConnectAsync(Server, name: "bob");

        // Alice over the socket.
        await aliceSocket.SendAsync(new { action = "sendMessage", chatId, content = "Hi Bob!", clientMessageId = "a1" });
        var ack = await aliceSocket.WaitForAckAsync("a1");
        Assert.Equal(chatId, ack.Str("chatId"));
        Assert.StartsWith("msg_", ack.Str("messageId"));
        Assert.Equal(1, ack.Data.Long("seq"));
        Assert.True(ack.Data.Long("timestamp") > 0);
        var atBob = await bobSocket.WaitForMessageAsync(chatId, "Hi Bob!");
        Assert.Equal(ack.Str("messageId"), atBob.Str("id"));
        Assert.Equal(ack.Str("messageId"), atBob.Str("messageId"));
        Assert.Equal(alice.Id, atBob.Str("senderId"));
        Assert.Equal("Alice", atBob.Str("senderName"));
        Assert.Equal(1, atBob.Data.Long("seq"));
        Assert.Equal("text", atBob.Str("type"));
        Assert.NotNull(atBob.Cursor);

        // Bob over the socket.
        await bobSocket.SendAsync(new { action = "sendMessage", chatId, content = "Hey Alice", clientMessageId = "b1" });
        Assert.Equal(2, (await bobSocket.WaitForAckAsync("b1")).Data.Long("seq"));
        Assert.Equal(bob.Id, (await aliceSocket.WaitForMessageAsync(chatId, "Hey Alice")).Str("senderId"));

        // Bob over REST: every member socket hears it, the sender's included.
        var restMessage = await bob.SendTextAsync(chatId, "sent from my laptop");
        Assert.Equal(restMessage.Str("id"), (await aliceSocket.WaitForMessageAsync(chatId, "sent from my laptop")).Str("id"));
        Assert.Equal(restMessage.Str("id"), (await bobSocket.WaitForMessageAsync(chatId, "sent from my laptop")).Str("id"));

        // Alice over REST.
        await alice.SendTextAsync(chatId, "and from mine");
        await bobSocket.WaitForMessageAsync(chatId, "and from mine");

        var history = await alice.MessagesOldestFirstAsync(chatId);
        Assert.Equal(["Hi Bob!", "Hey Alice", "sent from my laptop", "and from mine"], history.Select(m => m.Field("content")).ToArray());
        Assert.Equal([alice.Id, bob.Id, bob.Id, alice.Id], history.Select(m => m.Field("senderId")).ToArray());
    }

    [Fact]
    public async Task The_sending_socket_gets_an_ack_and_the_senders_other_devices_get_the_message()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        await using var phone = await alice.ConnectAsync(Server, name: "alice-phone");
        await using var laptop = await alice.ConnectAsync(Server, name: "alice-laptop");
        await using var bobSocket = await bob.ConnectAsync(Server, name: "bob");

        await phone.SendAsync(new { action = "sendMessage", chatId, content = "from the phone", clientMessageId = "p1" });
        var ack = await phone.WaitForAckAsync("p1");
        var onLaptop = await laptop.WaitForMessageAsync(chatId, "from the phone");
        Assert.Equal(ack.Str("messageId"), onLaptop.MessageId);
        Assert.Equal("p1", onLaptop.Str("clientMessageId"));
        await bobSocket.WaitForMessageAsync(chatId, "from the phone");
        await phone.ExpectNothingAsync(f => f.Type == "message", what: "its own message echoed back");
        await laptop.ExpectNothingAsync(f => f.Type == "ack", TimeSpan.Zero, "an ack meant for the phone");
    }

    [Fact]
    public async Task Sending_to_a_recipient_id_creates_the_chat_and_delivers_the_message()
    {
        var alice = await ApiClient.CreateUserAsync(Server, "Alice");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        await using var aliceSocket = await alice.ConnectAsync(Server, name: "alice");
        await using var bobSocket = await bob.ConnectAsync(Server, name: "bob");

        await aliceSocket.SendAsync(new { action = "sendMessage", recipientId = bob.Id, content = "first contact", clientMessageId = "new-1" });
        var ack = await aliceSocket.WaitForAckAsync("new-1");
        var expectedChatId = ChatHelpers.DirectChatId(alice.Id, bob.Id);
        Assert.Equal(expectedChatId, ack.Str("chatId"));
        Assert.Equal(1, ack.Data.Long("seq"));

        var message = await bobSocket.WaitForMessageAsync(expectedChatId, "first contact");
        Assert.Equal(alice.Id, message.Str("senderId"));
        var chat = Assert.Single(await bob.ChatListAsync());
        Assert.Equal(expectedChatId, chat.Str("id"));
        Assert.Equal(1, chat.Long("unreadCount"));

        // A second send to the recipient id lands in the same chat.
        await aliceSocket.SendAsync(new { action = "sendMessage", recipientId = bob.Id, content = "again", clientMessageId = "new-2" });
        var second = await aliceSocket.WaitForAckAsync("new-2");
        Assert.Equal(expectedChatId, second.Str("chatId"));
        Assert.Equal(2, second.Data.Long("seq"));
        Assert.Single(await alice.ChatListAsync());
    }

    [Fact]
    public async Task Sending_to_an_unknown_recipient_id_gets_an_error_frame_and_creates_nothing()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        await using var aliceSocket = await alice.ConnectAsync(Server);
        await aliceSocket.SendAsync(new { action = "sendMessage", recipientId = Guid.NewGuid().ToString(), content = "anyone there?", clientMessageId = "ghost" });
        var error = await aliceSocket.WaitForErrorAsync();
        Assert.Equal("ghost", error.Str("clientMessageId"));
        await aliceSocket.ExpectNothingAsync(f => f.Type is "ack" or "chat", TimeSpan.Zero, "an ack or a chat for an unknown recipient");
        Assert.Empty(await alice.ChatListAsync());
    }

    [Fact]
    public async Task A_senderId_in_a_frame_is_ignored_and_the_sender_is_the_token_user()
    {
        var alice = await ApiClient.CreateUserAsync(Server, "Alice");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var chatId = await alice.OpenChatWithAsync(bob);
        await using var aliceSocket = await alice.ConnectAsync(Server, name: "alice");
        await using var bobSocket = await bob.ConnectAsync(Server, name: "bob");

        await bobSocket.SendAsync(new { action = "sendMessage", chatId, content = "I am Alice, honest", clientMessageId = "spoof", senderId = alice.Id, senderName = "Alice" });
        await bobSocket.WaitForAckAsync("spoof");
        var received = await aliceSocket.WaitForMessageAsync(chatId, "I am Alice, honest");
        Assert.Equal(bob.Id, received.Str("senderId"));
        Assert.Equal("Bob", received.Str("senderName"));

        var stored = Assert.Single(await alice.HistoryAsync(chatId));
        Assert.Equal(bob.Id, stored.Str("senderId"));
        // It counts as unread for Alice (from someone else), not for Bob.
        Assert.Equal(1, (await alice.ChatAsync(chatId)).Long("unreadCount"));
        Assert.Equal(0, (await bob.ChatAsync(chatId)).Long("unreadCount"));
    }

    [Fact]
    public async Task A_group_message_fans_out_to_every_device_of_every_member()
    {
        var users = new List<TestUser>();
        for (var i = 0; i < 5; i++) users.Add(await ApiClient.CreateUserAsync(Server, $"Member {i}"));
        var (alice, bob) = (users[0], users[1]);
        var groupId = await alice.CreateGroupAsync("Five", users.Skip(1).ToArray());

        var sockets = new List<WsClient>();
        try
        {
            foreach (var user in users) sockets.Add(await user.ConnectAsync(Server, name: user.Name));
            var bobSecondDevice = await bob.ConnectAsync(Server, name: "Member 1 (tablet)");
            sockets.Add(bobSecondDevice);
            var aliceSocket = sockets[0];

            await aliceSocket.SendAsync(new { action = "sendMessage", chatId = groupId, content = "hello all", clientMessageId = "g1" });
            var ack = await aliceSocket.WaitForAckAsync("g1");
            foreach (var socket in sockets.Skip(1))
            {
                var frame = await socket.WaitForMessageAsync(groupId, "hello all");
                Assert.Equal(ack.Str("messageId"), frame.MessageId);
                Assert.Equal(alice.Id, frame.Str("senderId"));
            }
            await aliceSocket.ExpectNothingAsync(f => f.Type == "message" && f.Str("content") == "hello all", what: "its own message");

            // A REST send from a member reaches all six sockets, the sender's included.
            var fromCarol = await users[2].SendTextAsync(groupId, "rest to all");
            foreach (var socket in sockets)
            {
                Assert.Equal(fromCarol.Str("id"), (await socket.WaitForMessageAsync(groupId, "rest to all")).MessageId);
            }

            // Each device got each message exactly once.
            await Task.WhenAll(sockets.Select(s => s.ExpectNothingAsync(f => f.Type == "message" && f.Str("chatId") == groupId, what: "a duplicate")));
            foreach (var socket in sockets.Skip(1))
            {
                var ids = socket.AllFrames.Where(f => f.Type == "message" && f.Str("chatId") == groupId).Select(f => f.MessageId).ToList();
                Assert.Equal(ids.Count, ids.Distinct().Count());
            }
        }
        finally
        {
            foreach (var socket in sockets) await socket.DisposeAsync();
        }
    }

    [Fact]
    public async Task Concurrent_senders_in_a_group_are_seen_by_every_member_in_one_gap_free_order()
    {
        const int members = 4, perMember = 25;
        var users = new List<TestUser>();
        for (var i = 0; i < members; i++) users.Add(await ApiClient.CreateUserAsync(Server, $"Racer {i}"));
        var groupId = await users[0].CreateGroupAsync("Race", users.Skip(1).ToArray());
        var sockets = new List<WsClient>();
        try
        {
            foreach (var user in users) sockets.Add(await user.ConnectAsync(Server, name: user.Name));

            await Task.WhenAll(sockets.Select(async (socket, who) =>
            {
                for (var i = 0; i < perMember; i++)
                {
                    await socket.SendAsync(new { action = "sendMessage", chatId = groupId, content = $"{who}-{i}", clientMessageId = $"race-{who}-{i}" });
                }
            }));

            var allSeqs = new List<long>();
            for (var who = 0; who < members; who++)
            {
                var own = new List<long>();
                for (var i = 0; i < perMember; i++) own.Add((await sockets[who].WaitForAckAsync($"race-{who}-{i}")).Data.Long("seq"));
                Assert.Equal(own.Order(), own); // one socket's sends keep their order
                allSeqs.AddRange(own);

                var others = new List<long>();
                for (var i = 0; i < (members - 1) * perMember; i++)
                {
                    var frame = await sockets[who].WaitForAsync(f => f.Type == "message" && f.Str("chatId") == groupId && f.Str("type") == "text",
                        what: $"message {i + 1} from the others");
                    others.Add(frame.Data.Long("seq"));
                }
                Assert.Equal(others.Order(), others);
                Assert.Empty(others.Intersect(own));
            }
            // group_created is seq 1; the 100 messages take 2..101 with no gap and no repeat.
            Assert.Equal(Enumerable.Range(2, members * perMember).Select(i => (long)i), allSeqs.Order());
            var history = await users[1].MessagesOldestFirstAsync(groupId);
            Assert.Equal(Enumerable.Range(1, members * perMember + 1).Select(i => (long)i), history.Select(m => m.Long("seq")));
        }
        finally
        {
            foreach (var socket in sockets) await socket.DisposeAsync();
        }
    }
}
