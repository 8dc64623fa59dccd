using System.Diagnostics;
using System.Net.WebSockets;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Realtime;

/// <summary>What a client that floods its socket gets: every frame counts toward the socket's
/// frame limit, and typing reaches the others at most once a second per chat.</summary>
public sealed class FrameLimitTests
{
    [Fact]
    public async Task Every_client_frame_counts_toward_the_socket_frame_limit_and_a_flood_is_closed_with_1008()
    {
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Limits:FramesPerSecond"] = "5" });
        var alice = await ApiClient.CreateUserAsync(server);
        await using var socket = await alice.ConnectAsync(server);

        // Pings, which store nothing, still cost a frame each.
        var sent = 0;
        while (!socket.IsEnded && sent < 300)
        {
            if (!await socket.TrySendAsync(new { action = "ping" })) break;
            sent++;
        }
        var refused = await socket.WaitForTypeAsync("error", f => f.Str("code") == "rate_limited");
        Assert.False(string.IsNullOrWhiteSpace(refused.Str("error")));
        await socket.WaitForEndAsync();
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, socket.CloseStatus);
        var pongs = socket.AllFrames.Count(f => f.Type == "pong");
        Assert.InRange(pongs, 1, sent - 1);
    }

    [Fact]
    public async Task A_typing_flood_reaches_the_other_member_at_most_once_a_second_and_the_last_word_arrives()
    {
        // A frame limit high enough that only the typing rule is at work.
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Limits:FramesPerSecond"] = "100000" });
        var alice = await ApiClient.CreateUserAsync(server);
        var bob = await ApiClient.CreateUserAsync(server);
        var chatId = await alice.OpenChatWithAsync(bob);
        await using var aliceSocket = await alice.ConnectAsync(server, name: "alice");
        await using var bobSocket = await bob.ConnectAsync(server, name: "bob");

        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 2000; i++) await aliceSocket.SendAsync(new { action = "typing", chatId, isTyping = i % 2 == 0 });
        await aliceSocket.SendAsync(new { action = "typing", chatId, isTyping = false });
        // The frames are all read once a ping sent after them is answered.
        await aliceSocket.SendAsync(new { action = "ping" });
        await aliceSocket.WaitForTypeAsync("pong", timeout: TimeSpan.FromSeconds(60));

        // The last word (not typing) arrives, and then nothing more.
        List<WsFrame> Received() => bobSocket.AllFrames.Where(f => f.Type == "typing" && f.Str("userId") == alice.Id).ToList();
        var deadline = Stopwatch.StartNew();
        while (Received() is var got && (got.Count == 0 || got[^1].Data.Bool("isTyping")))
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(20)) throw new Xunit.Sdk.XunitException($"Bob never heard that Alice stopped typing: {got.Count} typing frames");
            await Task.Delay(50);
        }
        var settled = Received().Count;
        await Task.Delay(1500);
        Assert.Equal(settled, Received().Count);
        var seconds = clock.Elapsed.TotalSeconds;
        var received = Received();
        Assert.False(received[^1].Data.Bool("isTyping"));
        Assert.True(received.Count <= Math.Ceiling(seconds) + 1,
            $"{received.Count} typing frames reached Bob in {seconds:0.0} s from 2,001 sent");
    }
}
