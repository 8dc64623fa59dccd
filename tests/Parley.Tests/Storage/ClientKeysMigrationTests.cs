using System.Net;
using Parley.Server.Storage.Sqlite;
using Parley.Testing;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Storage;

/// <summary>A database from before the sends' keys were held as hashes (their text was in
/// <c>client_ids</c>): the step that hashes them keeps every retry finding its original, and a key
/// stays the sender's own in its chat.</summary>
public sealed class ClientKeysMigrationTests() : SqliteMigrationTest("client-keys")
{
    /// <summary>Takes a database back to before the step: each key below the watermark as text in
    /// <c>client_ids</c>, no hashes and no seed.</summary>
    internal const string UndoStep =
        """
        CREATE TABLE client_ids (
            chat_id TEXT NOT NULL,
            sender_id TEXT NOT NULL,
            client_message_id TEXT NOT NULL,
            pos INTEGER NOT NULL,
            PRIMARY KEY (chat_id, sender_id, client_message_id)
        ) WITHOUT ROWID;
        INSERT INTO client_ids (chat_id, sender_id, client_message_id, pos)
        SELECT chat_id, sender_id, client_message_id, pos FROM messages
        WHERE client_message_id IS NOT NULL AND pos <= (SELECT indexed_pos FROM client_ids_indexed);
        DROP TABLE client_keys;
        ALTER TABLE client_ids_indexed DROP COLUMN hash_seed;
        """;

    [Fact]
    public async Task Keys_held_as_text_move_to_hashes_and_retries_still_find_their_originals()
    {
        TestUser alice, bob;
        string chatId;
        var originals = new Dictionary<string, string>();
        await using (var before = await ParleyServer.StartAsync(Sqlite, DataDirectory))
        {
            alice = await ApiClient.CreateUserAsync(before, "Alice");
            bob = await ApiClient.CreateUserAsync(before, "Bob");
            chatId = await alice.OpenChatWithAsync(bob);
            for (var i = 0; i < 3; i++) originals[$"old-{i}"] = (await alice.SendTextAsync(chatId, $"old {i}", $"old-{i}")).Str("id")!;
            await alice.SendTextAsync(chatId, "no key");
            await before.StopAsync();
        }
        // The watermark is moved past every message first, so the keys are all in the table when
        // the step runs and none is read back into memory: a retry can only find its original
        // through the hashes the step wrote.
        await TakeBackAsync(SenderScrubsMigrationTests.UndoStep + AffectedUserMigrationTests.UndoStep + "UPDATE client_ids_indexed SET indexed_pos = (SELECT max(pos) FROM messages);" + UndoStep,
            SqliteMigrations.ClientKeysStep - 1);

        await using var after = await ParleyServer.StartAsync(Sqlite, DataDirectory);
        alice = alice with { Api = after.Api(alice.AccessToken) };
        bob = bob with { Api = after.Api(bob.AccessToken) };
        foreach (var (key, id) in originals)
        {
            var retry = await alice.Api.PostAsync($"/chats/{chatId}/messages", new { content = "again", clientMessageId = key });
            Assert.True(retry.Status is HttpStatusCode.OK or HttpStatusCode.Created, $"retry answered {(int)retry.Status} {retry.Json}");
            Assert.Equal(id, retry.Json.Str("id"));
        }
        // Bob's send with Alice's key is his own new message.
        var bobs = await bob.SendTextAsync(chatId, "mine", "old-0");
        Assert.DoesNotContain(bobs.Str("id"), originals.Values);
        Assert.Equal(5, (await alice.HistoryAsync(chatId)).Count);

        using var check = OpenFileReadOnly();
        using var query = check.CreateCommand();
        query.CommandText = "SELECT (SELECT count(*) FROM client_keys), (SELECT hash_seed FROM client_ids_indexed), (SELECT count(*) FROM sqlite_master WHERE name = 'client_ids')";
        using var row = query.ExecuteReader();
        Assert.True(row.Read());
        Assert.Equal(3L, row.GetInt64(0));
        var seed = row.GetInt64(1);
        Assert.Equal(0L, row.GetInt64(2));
        using var stored = check.CreateCommand();
        stored.CommandText = "SELECT count(*) FROM client_keys WHERE key_hash = $hash";
        stored.Parameters.AddWithValue("$hash", SqliteClientIds.KeyHash(seed, chatId, alice.Id, "old-1"));
        Assert.Equal(1L, (long)stored.ExecuteScalar()!);
    }
}
