using Parley.Tests.Infrastructure;

namespace Parley.Tests.Storage;

/// <summary>The embedded store copies committed pages from its write-ahead log into the database
/// file while it runs, on a connection beside the writer, not only at shutdown or once the log
/// holds a thousand pages.</summary>
public sealed class SqliteCheckpointTests
{
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
}
