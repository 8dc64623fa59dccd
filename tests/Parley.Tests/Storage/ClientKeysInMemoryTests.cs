using Microsoft.Data.Sqlite;
using Parley.Server.Storage.Sqlite;

namespace Parley.Tests.Storage;

/// <summary>
/// The sends' keys above the watermark, which <see cref="SqliteClientIds"/> holds in memory by their
/// hash, against a real (in-memory) SQLite table for the keys below it. What a retry finds through
/// the whole server is in the store contract tests; these pin the cases a server run cannot reach
/// on purpose: one key written at two positions (a send again after its transaction rolled back).
/// </summary>
public sealed class ClientKeysInMemoryTests : IDisposable
{
    private readonly SqliteConnection _connection = new("Data Source=:memory:");

    public ClientKeysInMemoryTests()
    {
        _connection.Open();
        using var create = _connection.CreateCommand();
        create.CommandText = """
            CREATE TABLE client_keys (key_hash INTEGER NOT NULL, pos INTEGER NOT NULL, PRIMARY KEY (key_hash, pos)) WITHOUT ROWID;
            """;
        create.ExecuteNonQuery();
    }

    public void Dispose()
    {
        SqliteRows.Forget(_connection);
        _connection.Dispose();
    }

    [Fact]
    public void A_key_in_memory_names_its_position_and_no_other_keys()
    {
        var ids = new SqliteClientIds();
        ids.Added("chat-1", "user-1", "c1", 10);
        ids.Added("chat-1", "user-2", "c1", 11);
        ids.Added("chat-2", "user-1", "c1", 12);

        Assert.Equal([10L], Candidates(ids, "chat-1", "user-1", "c1"));
        Assert.Equal([11L], Candidates(ids, "chat-1", "user-2", "c1"));
        Assert.Equal([12L], Candidates(ids, "chat-2", "user-1", "c1"));
        Assert.Empty(Candidates(ids, "chat-1", "user-1", "c2"));
    }

    [Fact]
    public void A_key_written_twice_keeps_both_positions_newest_first_until_the_watermark_passes_each()
    {
        var ids = new SqliteClientIds();
        ids.Added("chat-1", "user-1", "c1", 10);
        ids.Added("chat-1", "user-2", "c9", 11);
        ids.Added("chat-1", "user-1", "c1", 12);

        Assert.Equal([12L, 10L], Candidates(ids, "chat-1", "user-1", "c1"));

        // The watermark at 11: the first position is in the table from now on (the chunk's statement
        // wrote it there), and leaves memory.
        InsertKey("chat-1", "user-1", "c1", 10);
        ids.Committed(11);
        Assert.Equal([12L, 10L], Candidates(ids, "chat-1", "user-1", "c1"));
        Assert.Empty(Candidates(ids, "chat-1", "user-1", "c2"));

        InsertKey("chat-1", "user-1", "c1", 12);
        ids.Committed(12);
        Assert.Equal([12L, 10L], Candidates(ids, "chat-1", "user-1", "c1"));
    }

    [Fact]
    public void Keys_that_left_memory_without_reaching_the_table_are_not_named_again()
    {
        var ids = new SqliteClientIds();
        ids.Added("chat-1", "user-1", "c1", 10);
        ids.Added("chat-1", "user-1", "c1", 12);
        ids.Committed(20);
        Assert.Empty(Candidates(ids, "chat-1", "user-1", "c1"));
    }

    /// <summary>The row the chunk's statement writes for a key (the seed of a store never loaded is 0).</summary>
    /// <summary>Every position the search offers for the key, in its order: the check takes none.</summary>
    private List<long> Candidates(SqliteClientIds ids, string chatId, string senderId, string clientMessageId)
    {
        var offered = new List<long>();
        ids.Find(_connection, chatId, senderId, clientMessageId, offered, static (pos, offered) =>
        {
            offered.Add(pos);
            return (string?)null;
        });
        return offered;
    }

    private void InsertKey(string chatId, string senderId, string clientMessageId, long pos)
    {
        using var insert = _connection.CreateCommand();
        insert.CommandText = "INSERT INTO client_keys (key_hash, pos) VALUES ($hash, $pos)";
        insert.Parameters.AddWithValue("$hash", SqliteClientIds.KeyHash(0, chatId, senderId, clientMessageId));
        insert.Parameters.AddWithValue("$pos", pos);
        insert.ExecuteNonQuery();
    }
}
