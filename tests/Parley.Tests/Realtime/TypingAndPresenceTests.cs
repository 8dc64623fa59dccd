using Parley.Tests.Infrastructure;

namespace Parley.Tests.Realtime;

/// <summary>A server whose presence goes offline as soon as a user's last socket closes.</summary>
public sealed class NoGraceServer : IAsyncLifetime
{
    public ParleyServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await ParleyServer.StartAsync(new Dictionary<string, string?>
    {
        ["Parley:Realtime:PresenceGraceSeconds"] = "0",
    });

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

public sealed class TypingAndPresenceTests(NoGraceServer fixture) : IClassFixture<NoGraceServer>
{
    private ParleyServer Server => fixture.Server;

    [Fact]
    public async Task Typing_goes_to_the_other_members_only()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var outsider = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        await using var alicePhone = await alice.ConnectAsync(Server, name: "alice-phone");
        await using var aliceLaptop = await alice.ConnectAsync(Server, name: "alice-laptop");
        await using var bobSocket = await bob.ConnectAsync(Server, name: "bob");
        await using var outsiderSocket = await outsider.ConnectAsync(Server, name: "outsider");

        await alicePhone.SendAsync(new { action = "typing", chatId, isTyping = true });
        var typing = await bobSocket.WaitForTypeAsync("typing");
        Assert.Equal(chatId, typing.Str("chatId"));
        Assert.Equal(alice.Id, typing.Str("userId"));
        Assert.True(typing.Data.Bool("isTyping"));

        await alicePhone.SendAsync(new { action = "typing", chatId, isTyping = false });
        var stopped = await bobSocket.WaitForTypeAsync("typing");
        Assert.False(stopped.Data.Bool("isTyping"));
        Assert.Equal(alice.Id, stopped.Str("userId"));

        await alicePhone.ExpectNothingAsync(f => f.Type == "typing", what: "its own typing");
        await aliceLaptop.ExpectNothingAsync(f => f.Type == "typing", TimeSpan.Zero, "the user's own typing on another device");
        await outsiderSocket.ExpectNothingAsync(f => f.Type == "typing", TimeSpan.Zero, "typing in a chat it is not in");
    }

    [Fact]
    public async Task Typing_in_a_group_reaches_every_other_member()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var carol = await ApiClient.CreateUserAsync(Server);
        var groupId = await alice.CreateGroupAsync("Typists", bob, carol);
        await using var aliceSocket = await alice.ConnectAsync(Server, name: "alice");
        await using var bobSocket = await bob.ConnectAsync(Server, name: "bob");
        await using var carolSocket = await carol.ConnectAsync(Server, name: "carol");

        await carolSocket.SendAsync(new { action = "typing", chatId = groupId, isTyping = true });
        foreach (var socket in new[] { aliceSocket, bobSocket })
        {
            var frame = await socket.WaitForTypeAsync("typing");
            Assert.Equal(groupId, frame.Str("chatId"));
            Assert.Equal(carol.Id, frame.Str("userId"));
        }
        await carolSocket.ExpectNothingAsync(f => f.Type == "typing", what: "its own typing");
    }

    [Fact]
    public async Task A_typing_signal_lapses_by_itself_after_the_typing_period()
    {
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Realtime:TypingSeconds"] = "1" });
        var alice = await ApiClient.CreateUserAsync(server);
        var bob = await ApiClient.CreateUserAsync(server);
        var chatId = await alice.OpenChatWithAsync(bob);
        await using var aliceSocket = await alice.ConnectAsync(server, name: "alice");
        await using var bobSocket = await bob.ConnectAsync(server, name: "bob");

        await aliceSocket.SendAsync(new { action = "typing", chatId, isTyping = true });
        Assert.True((await bobSocket.WaitForTypeAsync("typing")).Data.Bool("isTyping"));
        // Alice's app goes quiet without saying she stopped; the server says it for her.
        var lapsed = await bobSocket.WaitForTypeAsync("typing");
        Assert.False(lapsed.Data.Bool("isTyping"));
        Assert.Equal(alice.Id, lapsed.Str("userId"));
        Assert.Equal(chatId, lapsed.Str("chatId"));
    }

    [Fact]
    public async Task Presence_goes_online_with_the_first_socket_and_offline_after_the_last_to_contacts_only()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var stranger = await ApiClient.CreateUserAsync(Server);
        await alice.OpenChatWithAsync(bob);
        await using var bobSocket = await bob.ConnectAsync(Server, name: "bob");
        await using var strangerSocket = await stranger.ConnectAsync(Server, name: "stranger");

        var phone = await alice.ConnectAsync(Server, name: "alice-phone");
        var online = await bobSocket.WaitForAsync(f => f.IsPresenceOf(alice.Id, true), what: "Alice online");
        Assert.True(online.Data.TryGetProperty("lastSeen", out _), $"presence without lastSeen: {online}");

        // A second device does not announce her again, and closing one of two does not take her offline.
        var laptop = await alice.ConnectAsync(Server, name: "alice-laptop");
        await phone.DisposeAsync();
        await bobSocket.ExpectNothingAsync(f => f.Type == "presence" && f.Str("userId") == alice.Id, what: "a presence change while a socket remains");

        await laptop.DisposeAsync();
        var offline = await bobSocket.WaitForAsync(f => f.IsPresenceOf(alice.Id, false), what: "Alice offline");
        Assert.True(offline.Data.GetProperty("lastSeen").GetInt64() > 0);

        // Someone who shares no chat with her hears nothing of it.
        await strangerSocket.ExpectNothingAsync(f => f.Type == "presence" && f.Str("userId") == alice.Id, TimeSpan.Zero, "presence of a non-contact");
    }

    [Fact]
    public async Task Presence_is_shown_in_the_chat_summary()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        await using var bobWatch = await bob.ConnectAsync(Server, name: "bob");

        var aliceSocket = await alice.ConnectAsync(Server, name: "alice");
        await bobWatch.WaitForAsync(f => f.IsPresenceOf(alice.Id, true), what: "Alice online");
        var participant = (await bob.ChatAsync(chatId)).GetProperty("participants").EnumerateArray().Single(p => p.Str("id") == alice.Id);
        Assert.True(participant.Bool("online"));

        await aliceSocket.DisposeAsync();
        await bobWatch.WaitForAsync(f => f.IsPresenceOf(alice.Id, false), what: "Alice offline");
        participant = (await bob.ChatAsync(chatId)).GetProperty("participants").EnumerateArray().Single(p => p.Str("id") == alice.Id);
        Assert.False(participant.Bool("online"));
    }

    [Fact]
    public async Task A_reconnect_within_the_grace_period_does_not_flap_presence()
    {
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Realtime:PresenceGraceSeconds"] = "4" });
        var alice = await ApiClient.CreateUserAsync(server);
        var bob = await ApiClient.CreateUserAsync(server);
        await alice.OpenChatWithAsync(bob);
        await using var bobSocket = await bob.ConnectAsync(server, name: "bob");
        var first = await alice.ConnectAsync(server, name: "alice-1");
        await bobSocket.WaitForAsync(f => f.IsPresenceOf(alice.Id, true), what: "Alice online");

        await first.DisposeAsync();
        await using var second = await alice.ConnectAsync(server, name: "alice-2");
        // Longer than the grace period: an offline frame would have come by now.
        await bobSocket.ExpectNothingAsync(f => f.Type == "presence" && f.Str("userId") == alice.Id, TimeSpan.FromSeconds(6), "Alice flapping offline and online");
    }

    [Fact]
    public async Task Presence_goes_through_1_to_1_chats_and_small_groups_and_big_groups_read_it_when_asked()
    {
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?>
        {
            ["Parley:Realtime:PresenceGraceSeconds"] = "0",
            ["Parley:Realtime:PresenceGroupLimit"] = "3",
        });
        var alice = await ApiClient.CreateUserAsync(server, "Alice");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var carol = await ApiClient.CreateUserAsync(server, "Carol");
        var dan = await ApiClient.CreateUserAsync(server, "Dan");
        var erin = await ApiClient.CreateUserAsync(server, "Erin");
        var big = await alice.CreateGroupAsync("Four of us", bob, carol, dan);
        await alice.CreateGroupAsync("Three of us", carol, erin);
        await alice.OpenChatWithAsync(dan);
        await using var bobSocket = await bob.ConnectAsync(server, name: "bob");
        await using var carolSocket = await carol.ConnectAsync(server, name: "carol");
        await using var danSocket = await dan.ConnectAsync(server, name: "dan");

        var aliceSocket = await alice.ConnectAsync(server, name: "alice");
        // Carol shares a group of three with her, Dan a 1:1 chat: both hear it once.
        await carolSocket.WaitForAsync(f => f.IsPresenceOf(alice.Id, true), what: "Alice online, through the small group");
        await danSocket.WaitForAsync(f => f.IsPresenceOf(alice.Id, true), what: "Alice online, through the 1:1 chat");
        // Bob shares only the group of four with her: he hears nothing, and reads it when he asks.
        await bobSocket.AssertAliveAsync();
        await bobSocket.ExpectNothingAsync(f => f.Type == "presence" && f.Str("userId") == alice.Id, TimeSpan.Zero, "presence through a big group");
        var seen = (await bob.ChatAsync(big)).GetProperty("participants").EnumerateArray().Single(p => p.Str("id") == alice.Id);
        Assert.True(seen.Bool("online"));

        await aliceSocket.DisposeAsync();
        await carolSocket.WaitForAsync(f => f.IsPresenceOf(alice.Id, false), what: "Alice offline, through the small group");
        await danSocket.WaitForAsync(f => f.IsPresenceOf(alice.Id, false), what: "Alice offline, through the 1:1 chat");
        await bobSocket.AssertAliveAsync();
        await bobSocket.ExpectNothingAsync(f => f.Type == "presence" && f.Str("userId") == alice.Id, TimeSpan.Zero, "presence through a big group");
        seen = (await bob.ChatAsync(big)).GetProperty("participants").EnumerateArray().Single(p => p.Str("id") == alice.Id);
        Assert.False(seen.Bool("online"));
        // Dan shares the 1:1 chat and the big group with her: one frame each time, not one per chat.
        Assert.Single(danSocket.AllFrames, f => f.IsPresenceOf(alice.Id, true));
    }
}
