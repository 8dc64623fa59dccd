using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using Parley.Tests.Cluster;
using Parley.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Parley.Tests.Realtime;

/// <summary>The limits the server enforces on upgraded connections, each on a server configured to make it easy to reach.</summary>
public sealed class WsLimitsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Sockets_from_one_address_are_capped_and_a_closed_one_frees_its_place()
    {
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Limits:SocketsPerIp"] = "2" });
        var first = await ApiClient.CreateUserAsync(server);
        var second = await ApiClient.CreateUserAsync(server);
        var third = await ApiClient.CreateUserAsync(server);
        await using var one = await first.ConnectAsync(server);
        var two = await second.ConnectAsync(server);

        // Every client of the test comes from 127.0.0.1: another user's socket is over the cap.
        Assert.True(await WsClient.RefusedAsync(server, third.AccessToken));

        await two.CloseAsync();
        await two.DisposeAsync();
        await ClusterWait.WaitUntilAsync(async () => !await WsClient.RefusedAsync(server, third.AccessToken), "a socket opens in the freed place");
    }

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
    public async Task A_user_who_hit_the_rate_limit_can_send_again_once_the_bucket_refills()
    {
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Limits:MessagesPerSecond"] = "2" });
        var alice = await ApiClient.CreateUserAsync(server);
        var bob = await ApiClient.CreateUserAsync(server);
        var chatId = await alice.OpenChatWithAsync(bob);

        ApiClient.Response answer;
        var sent = 0;
        do answer = await alice.Api.PostAsync($"/chats/{chatId}/messages", new { content = $"burst {sent++}" });
        while (answer.Status == HttpStatusCode.Created && sent < 40);
        Assert.Equal(HttpStatusCode.TooManyRequests, answer.Status);

        // The bucket refills over time (the limiter's own timer does it); a send is accepted again
        // within a few seconds, without any other request in between.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        do
        {
            await Task.Delay(250);
            answer = await alice.Api.PostAsync($"/chats/{chatId}/messages", new { content = "after the pause" });
        }
        while (answer.Status == HttpStatusCode.TooManyRequests && DateTime.UtcNow < deadline);
        Assert.Equal(HttpStatusCode.Created, answer.Status);
        Assert.Contains(await bob.HistoryAsync(chatId), m => m.Str("content") == "after the pause");
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
            if (refused.Status == HttpStatusCode.TooManyRequests) Assert.True(int.TryParse(refused.RetryAfter, out var seconds) && seconds >= 1, "429 without Retry-After");
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
            ["Parley:Limits:FramesPerSecond"] = "100000",
            ["Parley:Realtime:PresenceGraceSeconds"] = "0",
        });
        var alice = await ApiClient.CreateUserAsync(server, "Flooder");
        var bob = await ApiClient.CreateUserAsync(server, "Sleeper");
        var carol = await ApiClient.CreateUserAsync(server, "Watcher");
        var chatId = await alice.OpenChatWithAsync(bob);
        await carol.OpenChatWithAsync(bob);
        var start = await bob.CurrentCursorAsync();
        // Carol only watches Bob's presence: with no grace period, Bob going offline means the
        // server dropped his only socket, so the flood can stop early.
        await using var watcher = await carol.ConnectAsync(server, name: "carol");

        // Bob's socket never reads (and has a tiny TCP window); it starts from a cursor, so when
        // the server registers it does not matter: everything after the cursor is owed to it.
        await using var slow = await WsClient.ConnectAsync(server, bob.AccessToken, since: start, startReceiving: false,
            receiveBufferBytes: 4096, name: "bob-slow");
        await watcher.WaitForAsync(f => f.Type == "presence" && f.Str("userId") == bob.Id, what: "Bob online");

        // The flood goes over REST, so the sender has no socket of its own that could fall behind.
        var content = new string('w', 4000);
        var sent = 0;
        const int batch = 40, cap = 3000;
        var bobWentOffline = false;
        while (sent < cap && !bobWentOffline)
        {
            var from = sent;
            await Task.WhenAll(Enumerable.Range(from + 1, batch).Select(async n =>
            {
                var response = await alice.Api.PostAsync($"/chats/{chatId}/messages", new { content = $"{n}:{content}", clientMessageId = $"f{n}" });
                response.AssertStatus(HttpStatusCode.Created, $"flood message {n}");
            }));
            sent += batch;
            bobWentOffline = watcher.AllFrames.Any(f => f.IsPresenceOf(bob.Id, false));
        }

        // Now read what did reach the slow socket, up to the server's close.
        slow.StartReceiving();
        await slow.WaitForEndAsync(TimeSpan.FromSeconds(60));
        Assert.True(slow.CloseStatus is not null || slow.Aborted);
        var beforeClose = slow.AllFrames.Where(f => f.Type == "message" && f.Str("chatId") == chatId).ToList();
        Assert.True(beforeClose.Count < sent, $"the slow socket was closed but had all {sent} messages");
        var resumeFrom = slow.AllFrames.LastOrDefault(f => f.Cursor is not null)?.Cursor ?? start;
        output.WriteLine($"sent {sent}; the slow socket got {beforeClose.Count} before the server ended it " +
            $"(close {(int?)slow.CloseStatus} '{slow.CloseDescription}', aborted {slow.Aborted}); presence offline seen: {bobWentOffline}");

        await using var resumed = await WsClient.ConnectAsync(server, bob.AccessToken, since: resumeFrom, name: "bob-resumed");
        var afterResume = new List<WsFrame>();
        for (var i = beforeClose.Count; i < sent; i++)
        {
            afterResume.Add(await resumed.WaitForAsync(f => f.Type == "message" && f.Str("chatId") == chatId, what: $"message {i + 1} of {sent}"));
        }
        await resumed.ExpectNothingAsync(f => f.Type == "message", what: "a message beyond those sent, or a duplicate");

        var seqs = beforeClose.Concat(afterResume).Select(f => f.Data.GetProperty("seq").GetInt64()).ToList();
        Assert.Equal(Enumerable.Range(1, sent).Select(i => (long)i), seqs);
        var numbers = beforeClose.Concat(afterResume).Select(f => int.Parse(f.Str("content")![..f.Str("content")!.IndexOf(':')])).Order();
        Assert.Equal(Enumerable.Range(1, sent), numbers);
        Assert.Equal(sent, (await bob.ChatAsync(chatId)).Long("unreadCount"));
    }

    [Fact]
    public async Task A_client_that_never_answers_the_servers_close_is_cut_off_and_goes_offline()
    {
        // Keep-alive pings far off, so only the close handshake's own deadline can end the socket.
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?>
        {
            ["Parley:Realtime:PresenceGraceSeconds"] = "0",
            ["Parley:Realtime:KeepAliveSeconds"] = "600",
        });
        var alice = await ApiClient.CreateUserAsync(server, "Watcher");
        var bob = await ApiClient.CreateUserAsync(server, "Silent");
        await alice.OpenChatWithAsync(bob);
        await using var watcher = await alice.ConnectAsync(server, name: "alice");
        // Bob's client never reads again, so it never answers a close frame either.
        await using var silent = await WsClient.ConnectAsync(server, bob.AccessToken, startReceiving: false, name: "bob-silent");
        await watcher.WaitForAsync(f => f.IsPresenceOf(bob.Id, true), what: "Bob online");

        // Ending the session closes its socket (1008): the server sends its close and waits for the answer.
        using var anonymous = server.Api();
        (await anonymous.PostAsync("/auth/logout", new { refreshToken = bob.RefreshToken })).AssertStatus(HttpStatusCode.NoContent, "logout");

        // No answer comes: the server cuts the socket off, and Bob goes offline for those who see him.
        await watcher.WaitForAsync(f => f.IsPresenceOf(bob.Id, false),
            TimeSpan.FromSeconds(30), what: "Bob offline once his unanswered close was given up on");
        silent.StartReceiving();
        await silent.WaitForEndAsync(TimeSpan.FromSeconds(30));
        Assert.True(silent.Aborted || silent.CloseStatus == WebSocketCloseStatus.PolicyViolation,
            $"the silent socket ended with {(int?)silent.CloseStatus}, aborted {silent.Aborted}");
    }

    [Fact]
    public async Task Clients_that_pipeline_sends_and_read_everything_are_not_cut_off_as_slow_consumers()
    {
        // A queue half the default: only a client that stops reading may be cut off. Each side is
        // sent a thousand frames (the peer's 500 messages and its own 500 acks), twice what the
        // queue holds, so the server must drain while it commits. The queue still holds the bursts
        // committed while a busy machine keeps the reading thread waiting (with a quarter of the
        // default, a test machine running other suites beside this one once kept it waiting longer).
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?>
        {
            ["Parley:Realtime:SendQueueFrames"] = "512",
            ["Parley:Limits:MessagesPerSecond"] = "100000",
            ["Parley:Limits:FramesPerSecond"] = "100000",
        });
        var alice = await ApiClient.CreateUserAsync(server);
        var bob = await ApiClient.CreateUserAsync(server);
        var chatId = await alice.OpenChatWithAsync(bob);
        await using var aliceSocket = await alice.ConnectAsync(server, name: "alice");
        await using var bobSocket = await bob.ConnectAsync(server, name: "bob");

        // Both send an outbox of 500 messages at once (as a phone does after being offline), both reading all the while.
        const int each = 500;
        await Task.WhenAll(
            Task.Run(async () =>
            {
                for (var i = 0; i < each; i++) await aliceSocket.SendAsync(new { action = "sendMessage", chatId, content = $"a{i}", clientMessageId = $"a{i}" });
            }),
            Task.Run(async () =>
            {
                for (var i = 0; i < each; i++) await bobSocket.SendAsync(new { action = "sendMessage", chatId, content = $"b{i}", clientMessageId = $"b{i}" });
            }));

        for (var i = 0; i < each; i++)
        {
            await aliceSocket.WaitForAckAsync($"a{i}");
            await bobSocket.WaitForAckAsync($"b{i}");
            await aliceSocket.WaitForMessageAsync(chatId, $"b{i}");
            await bobSocket.WaitForMessageAsync(chatId, $"a{i}");
        }
        Assert.False(aliceSocket.IsEnded, "Alice's socket was closed");
        Assert.False(bobSocket.IsEnded, "Bob's socket was closed");
        Assert.Equal(2 * each, (await alice.HistoryAsync(chatId)).Count);
    }
}
