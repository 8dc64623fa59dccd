using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Realtime;

/// <summary>The limits the server enforces on upgraded connections, each on a server configured to make it easy to reach.</summary>
public sealed class WsLimitsTests
{
    [Fact]
    public async Task A_user_sending_too_fast_gets_an_error_frame_and_then_a_1008_close_if_it_continues()
    {
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Limits:MessagesPerSecond"] = "2" });
        var alice = await ApiClient.CreateUserAsync(server);
        var bob = await ApiClient.CreateUserAsync(server);
        var chatId = await alice.OpenChatWithAsync(bob);
        await using var socket = await alice.ConnectAsync(server);

        var sent = 0;
        var clock = Stopwatch.StartNew();
        while (!socket.IsEnded && sent < 2000 && clock.Elapsed < TimeSpan.FromSeconds(15))
        {
            if (!await socket.TrySendAsync(new { action = "sendMessage", chatId, content = $"spam {sent}", clientMessageId = $"s{sent}" })) break;
            sent++;
            if (sent % 20 == 0) await Task.Delay(10);
        }

        var error = await socket.WaitForErrorAsync();
        Assert.False(string.IsNullOrWhiteSpace(error.Str("error")));
        await socket.WaitForEndAsync();
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, socket.CloseStatus);

        var stored = await bob.HistoryAsync(chatId);
        Assert.InRange(stored.Count, 1, sent - 1);
        var acked = socket.AllFrames.Count(f => f.Type == "ack");
        Assert.True(acked <= stored.Count, $"{acked} acks but {stored.Count} messages stored");
    }

    [Fact]
    public async Task A_user_sending_too_fast_over_rest_gets_429_with_retry_after()
    {
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Limits:MessagesPerSecond"] = "2" });
        var alice = await ApiClient.CreateUserAsync(server);
        var bob = await ApiClient.CreateUserAsync(server);
        var chatId = await alice.OpenChatWithAsync(bob);

        var answers = new List<ApiClient.Response>();
        for (var i = 0; i < 40; i++) answers.Add(await alice.Api.PostAsync($"/chats/{chatId}/messages", new { content = $"m{i}" }));

        Assert.Equal(HttpStatusCode.Created, answers[0].Status);
        var limited = answers.FirstOrDefault(a => a.Status == HttpStatusCode.TooManyRequests)
            ?? throw new Xunit.Sdk.XunitException($"40 sends in a row at 2 per second were all accepted: {string.Join(",", answers.Select(a => (int)a.Status))}");
        Assert.True(limited.Raw.Headers.RetryAfter is not null, "429 without Retry-After");
        Assert.NotNull(limited.Error);
        Assert.Equal(answers.Count(a => a.Status == HttpStatusCode.Created), (await bob.HistoryAsync(chatId)).Count);
    }

    [Fact]
    public async Task Sockets_beyond_the_per_user_cap_are_refused_and_the_others_keep_working()
    {
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Limits:SocketsPerUser"] = "2" });
        var alice = await ApiClient.CreateUserAsync(server);
        var bob = await ApiClient.CreateUserAsync(server);
        var chatId = await alice.OpenChatWithAsync(bob);
        await using var first = await alice.ConnectAsync(server, name: "first");
        await using var second = await alice.ConnectAsync(server, name: "second");

        await AssertRefusedAsync(server, alice.AccessToken);

        // Another user is not affected by Alice's cap.
        await using var bobSocket = await bob.ConnectAsync(server, name: "bob");
        await bob.SendTextAsync(chatId, "still delivered");
        await first.WaitForMessageAsync(chatId, "still delivered");
        await second.WaitForMessageAsync(chatId, "still delivered");

        // Closing one frees its place.
        await second.CloseAsync();
        WsClient? replacement = null;
        var clock = Stopwatch.StartNew();
        while (replacement is null)
        {
            try
            {
                replacement = await alice.ConnectAsync(server, name: "replacement");
            }
            catch (Exception e) when (e is WsRefusedException or Xunit.Sdk.XunitException && clock.Elapsed < WsClient.DefaultTimeout)
            {
                await Task.Delay(100);
            }
        }
        await using (replacement)
        {
            await replacement.AssertAliveAsync();
        }
    }

    private static async Task AssertRefusedAsync(ParleyServer server, string token)
    {
        WsClient extra;
        try
        {
            extra = await WsClient.ConnectAsync(server, token, handshake: false, name: "extra");
        }
        catch (WsRefusedException refused)
        {
            Assert.True(refused.Status is HttpStatusCode.TooManyRequests or HttpStatusCode.Forbidden or HttpStatusCode.ServiceUnavailable,
                $"refused with an unexpected status {(int?)refused.Status}");
            return;
        }
        // Accepted at the HTTP level: the server must then close it at once.
        await using (extra)
        {
            await extra.WaitForEndAsync();
            Assert.True(extra.CloseStatus is WebSocketCloseStatus.PolicyViolation or (WebSocketCloseStatus)1013 or WebSocketCloseStatus.EndpointUnavailable,
                $"the extra socket closed with {(int?)extra.CloseStatus}");
            Assert.DoesNotContain(extra.AllFrames, f => f.Type == "message");
        }
    }

    [Fact]
    public async Task A_slow_consumer_is_closed_by_the_server_and_resumes_with_since_without_losing_anything()
    {
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?>
        {
            ["Parley:Realtime:SendQueueFrames"] = "16",
            ["Parley:Limits:MessagesPerSecond"] = "100000",
            ["Parley:Realtime:PresenceGraceSeconds"] = "0",
        });
        var alice = await ApiClient.CreateUserAsync(server, "Flooder");
        var bob = await ApiClient.CreateUserAsync(server, "Sleeper");
        var chatId = await alice.OpenChatWithAsync(bob);
        var start = await bob.CurrentCursorAsync();
        await using var aliceSocket = await alice.ConnectAsync(server, name: "alice");

        // Bob's socket never reads (and has a tiny TCP window); it starts from a cursor, so when
        // the server registers it does not matter: everything after the cursor is owed to it.
        await using var slow = await WsClient.ConnectAsync(server, bob.AccessToken, since: start, startReceiving: false,
            receiveBufferBytes: 4096, name: "bob-slow");

        var content = new string('w', 4000);
        var sent = 0;
        const int batch = 50, cap = 3000;
        var bobWentOffline = false;
        while (sent < cap && !bobWentOffline)
        {
            for (var i = 0; i < batch; i++, sent++)
            {
                await aliceSocket.SendAsync(new { action = "sendMessage", chatId, content = $"{sent + 1}:{content}", clientMessageId = $"f{sent + 1}" });
            }
            await aliceSocket.WaitForAckAsync($"f{sent}", TimeSpan.FromSeconds(30));
            // With no grace period, Bob's presence going offline means the server dropped his only socket.
            bobWentOffline = aliceSocket.AllFrames.Any(f => f.Type == "presence" && f.Str("userId") == bob.Id && f.Data.TryGetProperty("online", out var online) && !online.GetBoolean());
        }

        // Now read what did reach the slow socket, up to the server's close.
        slow.StartReceiving();
        await slow.WaitForEndAsync(TimeSpan.FromSeconds(60));
        Assert.True(slow.CloseStatus is not null || slow.Aborted);
        var beforeClose = slow.AllFrames.Where(f => f.Type == "message" && f.Str("chatId") == chatId).ToList();
        Assert.True(beforeClose.Count < sent, $"the slow socket was closed but had all {sent} messages");
        var resumeFrom = slow.AllFrames.LastOrDefault(f => f.Cursor is not null)?.Cursor ?? start;

        await using var resumed = await WsClient.ConnectAsync(server, bob.AccessToken, since: resumeFrom, name: "bob-resumed");
        var afterResume = new List<WsFrame>();
        for (var i = beforeClose.Count; i < sent; i++)
        {
            afterResume.Add(await resumed.WaitForAsync(f => f.Type == "message" && f.Str("chatId") == chatId, what: $"message {i + 1} of {sent}"));
        }
        await resumed.ExpectNothingAsync(f => f.Type == "message", what: "a message beyond those sent, or a duplicate");

        var seqs = beforeClose.Concat(afterResume).Select(f => f.Data.GetProperty("seq").GetInt64()).ToList();
        Assert.Equal(Enumerable.Range(1, sent).Select(i => (long)i), seqs);
        Assert.All(beforeClose.Concat(afterResume), f => Assert.StartsWith($"{f.Data.GetProperty("seq").GetInt64()}:", f.Str("content")));
        Assert.Equal(sent, (await bob.ChatAsync(chatId)).Long("unreadCount"));
    }
}
