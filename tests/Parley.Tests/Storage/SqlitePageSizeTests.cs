using Microsoft.Data.Sqlite;
using Parley.Testing;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Storage;

/// <summary>A new database file gets pages of 8 KiB; a file created with SQLite's 4 KiB pages keeps
/// them and works as before (a page size is fixed once a file exists in write-ahead-log mode).</summary>
public sealed class SqlitePageSizeTests() : SqliteMigrationTest("page-size")
{
    [Fact]
    public async Task A_new_database_file_has_pages_of_8_KiB()
    {
        await using var server = await ParleyServer.StartAsync(Sqlite, DataDirectory);
        var alice = await ApiClient.CreateUserAsync(server);
        var bob = await ApiClient.CreateUserAsync(server);
        await alice.SendTextAsync(await alice.OpenChatWithAsync(bob), "hello");

        Assert.Equal(8192, PageSize());
    }

    [Fact]
    public async Task A_file_with_pages_of_4_KiB_keeps_them_and_its_messages()
    {
        Directory.CreateDirectory(DataDirectory);
        using (var created = new SqliteConnection($"Data Source={DatabaseFile};Pooling=false"))
        {
            created.Open();
            using var setup = created.CreateCommand();
            setup.CommandText = "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL;";
            setup.ExecuteNonQuery();
        }
        TestUser alice, bob;
        string chatId;
        await using (var first = await ParleyServer.StartAsync(Sqlite, DataDirectory))
        {
            alice = await ApiClient.CreateUserAsync(first, "Alice");
            bob = await ApiClient.CreateUserAsync(first, "Bob");
            chatId = await alice.OpenChatWithAsync(bob);
            for (var i = 0; i < 50; i++) await alice.SendTextAsync(chatId, $"message {i} " + new string('x', 300));
            await first.StopAsync();
        }
        await TestBackend.ReleaseAsync(DataDirectory);
        Assert.Equal(4096, PageSize());

        await using var second = await ParleyServer.StartAsync(Sqlite, DataDirectory);
        bob = bob with { Api = second.Api(bob.AccessToken) };
        var history = await bob.HistoryAsync(chatId, limit: 100);
        Assert.Equal(50, history.Count(m => m.Str("type") == "text"));
        Assert.Equal(4096, PageSize());
    }

    private long PageSize()
    {
        using var connection = OpenFileReadOnly();
        using var query = connection.CreateCommand();
        query.CommandText = "PRAGMA page_size";
        return (long)query.ExecuteScalar()!;
    }
}
