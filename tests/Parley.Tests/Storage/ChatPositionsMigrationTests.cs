using Parley.Server.Storage.Sqlite;
using Parley.Testing;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Storage;

/// <summary>A database from before the chats' positions had a table of their own (an index on the
/// messages by chat held them): the step that moves them keeps every chat's history, sync and
/// receipts whole, and the server then keeps new positions in memory until a chunk is written.</summary>
public sealed class ChatPositionsMigrationTests() : SqliteMigrationTest("chat-positions")
{

    /// <summary>Takes a database back to before the step: the positions in an index on the messages.</summary>
    internal const string UndoStep =
        """
        DROP TABLE chat_positions;
        DROP TABLE chat_positions_indexed;
        CREATE INDEX messages_by_chat ON messages (chat_id, pos);
        """;

    [Fact]
    public async Task Positions_held_by_the_old_index_move_to_their_table_and_every_message_is_still_found()
    {
        TestUser alice, bob, carol;
        string withBob, withCarol, bobCursor;
        var sent = new List<string>();
        await using (var before = await ParleyServer.StartAsync(Sqlite, DataDirectory))
        {
            alice = await ApiClient.CreateUserAsync(before, "Alice");
            bob = await ApiClient.CreateUserAsync(before, "Bob");
            carol = await ApiClient.CreateUserAsync(before, "Carol");
            bobCursor = await bob.CurrentCursorAsync();
            withBob = await alice.OpenChatWithAsync(bob);
            withCarol = await alice.OpenChatWithAsync(carol);
            for (var i = 0; i < 5; i++)
            {
                sent.Add((await alice.SendTextAsync(withBob, $"old {i}")).Str("id")!);
                await alice.SendTextAsync(withCarol, $"other chat {i}");
            }
            await before.StopAsync();
        }
        await TakeBackAsync(SenderScrubsMigrationTests.UndoStep + AffectedUserMigrationTests.UndoStep + ClientKeysMigrationTests.UndoStep + UndoStep, SqliteMigrations.ChatPositionsStep - 1);

        await using var after = await ParleyServer.StartAsync(Sqlite, DataDirectory);
        alice = alice with { Api = after.Api(alice.AccessToken) };
        bob = bob with { Api = after.Api(bob.AccessToken) };
        for (var i = 0; i < 3; i++) sent.Add((await bob.SendTextAsync(withBob, $"new {i}")).Str("id")!);

        // The old messages come from the table, the new ones from memory: one history, newest first.
        Assert.Equal(Enumerable.Reverse(sent), (await alice.HistoryAsync(withBob, limit: 3)).Select(m => m.Str("id")));
        // Bob's sync, two events a page, across both halves: his chat's messages once each, in order, nothing of the other chat.
        var synced = (await bob.SyncAllAsync(bobCursor, limit: 2)).Events
            .Where(e => e.Str("type") == "message").Select(e => e.GetProperty("data").Str("id")!).ToList();
        Assert.Equal(sent, synced.Where(sent.Contains));
        Assert.All(synced, id => Assert.Contains(id, sent));

        // Once more after a restart: the positions held in memory are read back from the messages.
        await after.StopAsync();
        await TestBackend.ReleaseAsync(DataDirectory);
        await using (var again = await ParleyServer.StartAsync(Sqlite, DataDirectory))
        {
            alice = alice with { Api = again.Api(alice.AccessToken) };
            sent.Add((await alice.SendTextAsync(withBob, "after the restart")).Str("id")!);
            Assert.Equal(Enumerable.Reverse(sent), (await alice.HistoryAsync(withBob, limit: 4)).Select(m => m.Str("id")));
            await again.StopAsync();
        }
        await TestBackend.ReleaseAsync(DataDirectory);

        using var check = OpenFileReadOnly();
        using var query = check.CreateCommand();
        query.CommandText = "SELECT (SELECT count(*) FROM chat_positions), (SELECT count(*) FROM sqlite_master WHERE name = 'messages_by_chat')";
        using var row = query.ExecuteReader();
        Assert.True(row.Read());
        // Ten old messages and the system lines of the chats' creation, if any, are in the table; the new ones are not yet.
        Assert.Equal(0L, row.GetInt64(1));
        Assert.True(row.GetInt64(0) >= 10, $"{row.GetInt64(0)} positions in the table");
    }
}
