using Parley.Tests.Infrastructure;

namespace Parley.Tests.Realtime;

/// <summary>A client may send many frames without waiting for their answers (a phone flushing its
/// outbox, a bot). The server reads the next frame while earlier sends are being stored; the
/// answers still come in the order of the frames, and each chat keeps the order of the sends.</summary>
public sealed class PipelinedSendTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    [Fact]
    public async Task Frames_sent_without_waiting_are_answered_in_their_order_and_stored_in_their_order_per_chat()
    {
        var alice = await ApiClient.CreateUserAsync(Server, "Alice");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var carol = await ApiClient.CreateUserAsync(Server, "Carol");
        var stranger = await ApiClient.CreateUserAsync(Server, "Stranger");
        var withBob = await alice.OpenChatWithAsync(bob);
        var withCarol = await alice.OpenChatWithAsync(carol);
        var notMine = await bob.OpenChatWithAsync(stranger);
        await using var bobSocket = await bob.ConnectAsync(Server, name: "bob");
        await using var socket = await alice.ConnectAsync(Server, name: "alice");

        // 40 sends over two chats, with a refused send, an invalid frame and a ping among them.
        var expected = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            var chatId = i % 3 == 0 ? withCarol : withBob;
            await socket.SendAsync(new { action = "sendMessage", chatId, content = $"line {i}", clientMessageId = $"c{i}" });
            expected.Add($"ack c{i}");
            if (i == 10)
            {
                await socket.SendAsync(new { action = "sendMessage", chatId = notMine, content = "not my chat", clientMessageId = "refused" });
                expected.Add("error refused");
            }
            if (i == 20)
            {
                await socket.SendAsync(new { action = "ping" });
                expected.Add("pong");
            }
            if (i == 30)
            {
                await socket.SendAsync(new { action = "sendMessage", chatId = withBob, content = 7, clientMessageId = "malformed" });
                expected.Add("error malformed");
            }
        }

        var answers = new List<string>();
        for (var n = 0; n < expected.Count; n++)
        {
            var frame = await socket.WaitForAsync(f => f.Type is "ack" or "error" or "pong", what: $"answer {n + 1} of {expected.Count}");
            answers.Add(frame.Type == "pong" ? "pong" : $"{frame.Type} {frame.Str("clientMessageId")}");
        }
        Assert.Equal(expected, answers);

        // Each chat holds its lines in the order they were sent, numbered without gaps, and Bob
        // received his live in that order.
        foreach (var (chatId, lines) in new[] { (withBob, Lines(i => i % 3 != 0)), (withCarol, Lines(i => i % 3 == 0)) })
        {
            var history = (await alice.HistoryAsync(chatId)).AsEnumerable().Reverse().ToList();
            Assert.Equal(lines, history.Select(m => m.Field("content")));
            Assert.Equal(Enumerable.Range(1, lines.Length).Select(i => (long)i), history.Select(m => m.Long("seq")));
        }
        var received = new List<string>();
        foreach (var _ in Lines(i => i % 3 != 0))
        {
            received.Add((await bobSocket.WaitForTypeAsync("message", f => f.Str("chatId") == withBob)).Str("content")!);
        }
        Assert.Equal(Lines(i => i % 3 != 0), received);
    }

    private static string[] Lines(Func<int, bool> which) => Enumerable.Range(0, 40).Where(which).Select(i => $"line {i}").ToArray();
}
