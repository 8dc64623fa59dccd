using System.Net;
using Parley.Server.Storage.Sqlite;
using Parley.Testing;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Storage;

/// <summary>A database from before the sends' keys had a table of their own (a unique index on the
/// messages held them): the step that moves them keeps every retry finding its original.</summary>
public sealed class ClientIdsMigrationTests() : SqliteMigrationTest("client-ids")
{

    /// <summary>Takes a database back to before the step: the keys in the unique index, no table.</summary>
    internal const string UndoStep =
        """
        DROP TABLE client_ids;
        DROP TABLE client_ids_indexed;
        CREATE UNIQUE INDEX messages_by_client_id ON messages (chat_id, sender_id, client_message_id)
            WHERE client_message_id IS NOT NULL;
        """;

    [Fact]
    public async Task Keys_held_by_the_old_index_move_to_their_table_and_retries_still_find_their_originals()
    {
        TestUser alice, bob;
        string chatId, originalId;
        await using (var before = await ParleyServer.StartAsync(Sqlite, DataDirectory))
        {
            alice = await ApiClient.CreateUserAsync(before, "Alice");
            bob = await ApiClient.CreateUserAsync(before, "Bob");
            chatId = await alice.OpenChatWithAsync(bob);
            originalId = (await alice.SendTextAsync(chatId, "from the old days", "old-key")).Str("id")!;
            await before.StopAsync();
        }
        // Later steps are undone first, so the file is as the step before this one left it.
        await TakeBackAsync(SenderScrubsMigrationTests.UndoStep + AffectedUserMigrationTests.UndoStep + ClientKeysMigrationTests.UndoStep + ChatPositionsMigrationTests.UndoStep + UndoStep, SqliteMigrations.ClientIdsStep - 1);

        await using var after = await ParleyServer.StartAsync(Sqlite, DataDirectory);
        alice = alice with { Api = after.Api(alice.AccessToken) };
        var retry = await alice.Api.PostAsync($"/chats/{chatId}/messages", new { content = "again", clientMessageId = "old-key" });
        Assert.True(retry.Status is HttpStatusCode.OK or HttpStatusCode.Created, $"retry answered {(int)retry.Status} {retry.Json}");
        Assert.Equal(originalId, retry.Json.Str("id"));
        Assert.Single(await alice.HistoryAsync(chatId));

        using var check = OpenFileReadOnly();
        using var query = check.CreateCommand();
        // The key went to the table (as text, then as its hash, in the step after this one).
        query.CommandText = "SELECT (SELECT count(*) FROM client_keys), (SELECT count(*) FROM sqlite_master WHERE name = 'messages_by_client_id')";
        using var row = query.ExecuteReader();
        Assert.True(row.Read());
        Assert.Equal((1L, 0L), (row.GetInt64(0), row.GetInt64(1)));
    }
}
