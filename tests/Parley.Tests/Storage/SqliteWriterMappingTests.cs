using Parley.Testing;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Storage;

/// <summary>No connection maps the database file into memory: readers read through the kernel's page
/// cache, and the writer through its own page cache (a mapping made SQLite look up each page it read
/// in the log's index, cached or not).</summary>
public sealed class SqliteWriterMappingTests() : SqliteMigrationTest("writer-mapping")
{
    [Fact]
    public async Task The_database_file_is_not_mapped_while_the_server_writes_and_reads_it()
    {
        await using var server = await ParleyServer.StartAsync(Sqlite, DataDirectory);
        var alice = await ApiClient.CreateUserAsync(server);
        var bob = await ApiClient.CreateUserAsync(server);
        var chatId = await alice.OpenChatWithAsync(bob);
        for (var i = 0; i < 20; i++) await alice.SendTextAsync(chatId, $"message {i}");
        Assert.Equal(20, (await bob.HistoryAsync(chatId, limit: 50)).Count(m => m.Str("type") == "text"));

        // The server runs in this process: its mappings are this process's. The log's shared index
        // (parley.db-shm) is mapped by design; the database file itself must not be.
        var mapped = File.ReadLines("/proc/self/maps").Where(line => line.EndsWith(DatabaseFile, StringComparison.Ordinal)).ToList();
        Assert.Empty(mapped);
    }
}
