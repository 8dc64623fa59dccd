using System.Net;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Realtime;

/// <summary>A block takes effect at once for what the blocked user sees live: the blocker's
/// presence, typing and last seen, in frames and in every answer.</summary>
public sealed class BlockingLiveTests(NoGraceServer fixture) : IClassFixture<NoGraceServer>
{
    private ParleyServer Server => fixture.Server;

    [Fact]
    public async Task After_a_block_the_blocked_user_stops_seeing_the_blockers_presence_typing_and_last_seen_at_once()
    {
        var alice = await ApiClient.CreateUserAsync(Server, "Alice");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var chatId = await alice.OpenChatWithAsync(bob);
        await using var bobSocket = await bob.ConnectAsync(Server, name: "bob");
        await using var aliceSocket = await alice.ConnectAsync(Server, name: "alice");
        await bobSocket.WaitForAsync(f => f.IsPresenceOf(alice.Id, true), what: "Alice online");
        await aliceSocket.SendAsync(new { action = "typing", chatId, isTyping = true });
        await bobSocket.WaitForTypeAsync("typing", f => f.Str("userId") == alice.Id && f.Data.Bool("isTyping"));

        (await alice.Api.PostAsync($"/users/{bob.Id}/block", new { })).AssertStatus(HttpStatusCode.NoContent, "block");

        // Straight away, without reloading: Alice is offline and not typing, as far as Bob can tell.
        var presence = await bobSocket.WaitForTypeAsync("presence", f => f.Str("userId") == alice.Id);
        Assert.False(presence.Data.Bool("online"));
        Assert.Equal(0, presence.Data.Long("lastSeen"));
        var stopped = await bobSocket.WaitForTypeAsync("typing", f => f.Str("userId") == alice.Id);
        Assert.False(stopped.Data.Bool("isTyping"));

        // Alice keeps typing (her signal is alive): Bob hears none of it, and no answer shows it.
        for (var i = 0; i < 5; i++)
        {
            await aliceSocket.SendAsync(new { action = "typing", chatId, isTyping = true });
            await Task.Delay(300);
        }
        await bobSocket.ExpectNothingAsync(f => f.Type is "typing" or "presence" && f.Str("userId") == alice.Id, what: "Alice's typing or presence after the block");
        var chat = await bob.ChatAsync(chatId);
        Assert.False(chat.Bool("isTyping"));
        var shown = chat.GetProperty("participants").EnumerateArray().Single(p => p.Str("id") == alice.Id);
        Assert.False(shown.Bool("online"));
        Assert.Equal(0, shown.Long("lastSeen"));

        // Unblocked: Bob sees her as she is again.
        (await alice.Api.DeleteAsync($"/users/{bob.Id}/block")).AssertStatus(HttpStatusCode.NoContent, "unblock");
        var back = await bobSocket.WaitForTypeAsync("presence", f => f.Str("userId") == alice.Id);
        Assert.True(back.Data.Bool("online"));
    }

    /// <summary>A block hides presence and typing both ways: the blocker no longer sees the blocked
    /// user come online or type (a blocked user may not send to them anyway).</summary>
    [Fact]
    public async Task After_a_block_the_blocker_stops_seeing_the_blocked_users_presence_and_typing_too()
    {
        var alice = await ApiClient.CreateUserAsync(Server, "Alice");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var eve = await ApiClient.CreateUserAsync(Server, "Eve");
        var chatId = await alice.OpenChatWithAsync(bob);
        var eveChat = await alice.OpenChatWithAsync(eve);
        await using var aliceSocket = await alice.ConnectAsync(Server, name: "alice");
        await using var bobSocket = await bob.ConnectAsync(Server, name: "bob");
        await aliceSocket.WaitForAsync(f => f.IsPresenceOf(bob.Id, true), what: "Bob online");
        await bobSocket.SendAsync(new { action = "typing", chatId, isTyping = true });
        await aliceSocket.WaitForTypeAsync("typing", f => f.Str("userId") == bob.Id && f.Data.Bool("isTyping"));

        (await alice.Api.PostAsync($"/users/{bob.Id}/block", new { })).AssertStatus(HttpStatusCode.NoContent, "block Bob");
        (await alice.Api.PostAsync($"/users/{eve.Id}/block", new { })).AssertStatus(HttpStatusCode.NoContent, "block Eve");

        // Straight away: Bob is offline (last seen hidden) and not typing, as far as Alice can tell.
        var presence = await aliceSocket.WaitForTypeAsync("presence", f => f.Str("userId") == bob.Id);
        Assert.False(presence.Data.Bool("online"));
        Assert.Equal(0, presence.Data.Long("lastSeen"));
        Assert.False((await aliceSocket.WaitForTypeAsync("typing", f => f.Str("userId") == bob.Id)).Data.Bool("isTyping"));

        // Bob keeps typing, Eve comes online: Alice hears none of it, and no answer shows it.
        await using var eveSocket = await eve.ConnectAsync(Server, name: "eve");
        for (var i = 0; i < 3; i++)
        {
            await bobSocket.SendAsync(new { action = "typing", chatId, isTyping = true });
            await eveSocket.SendAsync(new { action = "typing", chatId = eveChat, isTyping = true });
            await Task.Delay(400);
        }
        await aliceSocket.ExpectNothingAsync(f => (f.Str("userId") == bob.Id || f.Str("userId") == eve.Id)
            && (f.Type == "typing" && f.Data.Bool("isTyping") || f.Type == "presence" && f.Data.Bool("online")),
            what: "a user Alice blocked shown typing or online");
        var chat = await alice.ChatAsync(chatId);
        Assert.False(chat.Bool("isTyping"));
        var shown = chat.GetProperty("participants").EnumerateArray().Single(p => p.Str("id") == bob.Id);
        Assert.False(shown.Bool("online"));
        Assert.Equal(0, shown.Long("lastSeen"));

        // Unblocked: Alice sees Bob as he is again.
        (await alice.Api.DeleteAsync($"/users/{bob.Id}/block")).AssertStatus(HttpStatusCode.NoContent, "unblock");
        Assert.True((await aliceSocket.WaitForTypeAsync("presence", f => f.Str("userId") == bob.Id)).Data.Bool("online"));
    }
}
