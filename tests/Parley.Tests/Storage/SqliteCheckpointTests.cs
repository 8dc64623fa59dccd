using System.Buffers.Binary;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Storage;

/// <summary>The embedded store copies committed pages from its write-ahead log into the database
/// file while it runs, on a connection beside the writer, not only at shutdown or once the log
/// holds a thousand pages; and it starts the log over while writes never pause, so the log does
/// not grow for as long as they go on.</summary>
public sealed class SqliteCheckpointTests
{
    /// <summary>The writer's cache is 16 MiB while the file lies below SQLite's lock byte at 1 GiB and
    /// 64 MiB beyond it; the writer looks again as the file grows (see SqliteDatabase.WriterCacheKiB).</summary>
    [Theory]
    [InlineData(0L, 16384L)]
    [InlineData(1L << 30, 16384L)]
    [InlineData((1L << 30) + 4096, 65536L)]
    public void The_writer_cache_is_the_larger_one_once_the_file_passes_1_GiB(long fileBytes, long cacheKiB) =>
        Assert.Equal(cacheKiB, Parley.Server.Storage.Sqlite.SqliteDatabase.WriterCacheKiB(fileBytes));

    [Fact]
    public async Task Committed_messages_reach_the_database_file_while_the_server_runs()
    {
        await using var server = await ParleyServer.StartAsync();
        var alice = await ApiClient.CreateUserAsync(server);
        var bob = await ApiClient.CreateUserAsync(server);
        var chatId = await alice.OpenChatWithAsync(bob);
        var database = Path.Combine(server.DataDirectory, "parley.db");
        var before = new FileInfo(database).Length;

        // A few hundred messages: far fewer pages than SQLite's own automatic checkpoint waits for.
        for (var i = 0; i < 300; i++) await alice.SendTextAsync(chatId, $"message {i} " + new string('x', 200));

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (new FileInfo(database).Length <= before && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.True(new FileInfo(database).Length > before,
            $"parley.db stayed at {before} bytes: the messages are still only in the write-ahead log");
        Assert.Equal(300, (await bob.HistoryAsync(chatId)).Count);
    }

    /// <summary>Sixteen sockets with sixteen sends in flight each, so the writer is rarely idle. The
    /// log starts over by itself only after a checkpoint that no commit overlapped, which a load
    /// without pauses seldom leaves (in <c>pairs</c>, never). With a 1 MiB log it is started over
    /// again and again, and every message is kept, in order.</summary>
    [Fact]
    public async Task The_log_is_started_over_while_sends_never_pause_and_every_message_is_kept()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Parley:Storage:LogRestartMiB"] = "1",
            // The senders' pace is the machine's, not a user's: no rate limit may answer them.
            ["Parley:Limits:MessagesPerSecond"] = "100000",
            ["Parley:Limits:FramesPerSecond"] = "100000",
        };
        await using var server = await ParleyServer.StartAsync(settings);
        var pairs = new List<(TestUser Sender, TestUser Receiver, string ChatId)>();
        for (var i = 0; i < 16; i++)
        {
            var sender = await ApiClient.CreateUserAsync(server);
            var receiver = await ApiClient.CreateUserAsync(server);
            pairs.Add((sender, receiver, await sender.OpenChatWithAsync(receiver)));
        }
        var log = Path.Combine(server.DataDirectory, "parley.db-wal");
        var firstCycle = LogCycle(log);

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var sent = new int[pairs.Count];
        var senders = pairs.Select((pair, i) => Task.Run(async () =>
        {
            // Sixteen sends in flight on each socket, so the writer always has the next batch.
            await using var socket = await pair.Sender.ConnectAsync(server, name: $"sender {i}");
            while (!stop.IsCancellationRequested)
            {
                for (var k = 1; k <= Window; k++)
                {
                    var n = sent[i] + k;
                    await socket.SendAsync(new { action = "sendMessage", chatId = pair.ChatId, content = Text(i, n), clientMessageId = $"s{i}-{n}" });
                }
                for (var k = 0; k < Window; k++) await socket.WaitForTypeAsync("ack");
                sent[i] += Window;
            }
        })).ToArray();
        // Three starts over beyond the first, while the sixteen keep sending.
        while (!stop.IsCancellationRequested && LogCycle(log) < firstCycle + 3 && senders.All(t => !t.IsCompleted))
        {
            await Task.Delay(100);
        }
        var cycles = LogCycle(log) - firstCycle;
        await stop.CancelAsync();
        await Task.WhenAll(senders);
        Assert.True(cycles >= 3, $"the log was started over {cycles} times during {sent.Sum()} sends");

        // Every message is in each chat, in order, read back after a restart from the files.
        await server.StopAsync();
        await using var again = await ParleyServer.StartAsync(settings, server.DataDirectory);
        for (var i = 0; i < pairs.Count; i++)
        {
            var receiver = pairs[i].Receiver with { Api = again.Api(pairs[i].Receiver.AccessToken) };
            var history = await receiver.HistoryAsync(pairs[i].ChatId);
            Assert.Equal(Enumerable.Range(1, sent[i]).Reverse().Select(n => Text(i, n)), history.Select(m => m.Str("content")));
        }
    }

    private const int Window = 16;

    private static string Text(int sender, int n) => $"message {n} of sender {sender} " + new string('x', 300);

    /// <summary>The log's checkpoint sequence (bytes 12-15 of its header), which goes up by one each
    /// time the log is started over; 0 when there is no log yet.</summary>
    private static uint LogCycle(string path)
    {
        if (!File.Exists(path)) return 0;
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        Span<byte> header = stackalloc byte[16];
        return file.ReadAtLeast(header, 16, throwOnEndOfStream: false) == 16 ? BinaryPrimitives.ReadUInt32BigEndian(header[12..]) : 0;
    }
}
