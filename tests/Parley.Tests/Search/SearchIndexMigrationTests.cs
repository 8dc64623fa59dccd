using System.Net;
using System.Text;
using Microsoft.Data.Sqlite;
using Parley.Tests.Infrastructure;
using Parley.Testing;

namespace Parley.Tests.Search;

/// <summary>A SQLite database whose search index is of the kind that kept deleted words until a
/// merge (before schema step 17) is indexed again at start: what was found is still found, and a
/// message deleted afterwards leaves the index's pages.</summary>
public sealed class SearchIndexMigrationTests
{
    private static readonly Dictionary<string, string?> Sqlite = new() { ["Parley:Storage:Provider"] = "Sqlite" };

    /// <summary>The index and triggers as schema step 16 left them, rebuilt over what the messages hold.</summary>
    private const string IndexOfStep16 =
        """
        DROP TRIGGER message_search_change;
        DROP TRIGGER message_search_remove;
        DROP TABLE message_search;
        CREATE VIRTUAL TABLE message_search USING fts5 (
            content, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 0'
        );
        INSERT INTO message_search (rowid, content)
        SELECT pos, content FROM messages
        WHERE pos <= (SELECT indexed_pos FROM search_index) AND type <> 'system' AND content IS NOT NULL AND deleted = 0;
        CREATE TRIGGER message_search_change AFTER UPDATE OF content, deleted, type ON messages
        WHEN old.pos <= (SELECT indexed_pos FROM search_index)
        BEGIN
            DELETE FROM message_search WHERE rowid = old.pos;
            INSERT INTO message_search (rowid, content)
            SELECT new.pos, new.content WHERE new.type <> 'system' AND new.content IS NOT NULL AND new.deleted = 0;
        END;
        CREATE TRIGGER message_search_remove AFTER DELETE ON messages
        WHEN old.pos <= (SELECT indexed_pos FROM search_index)
        BEGIN
            DELETE FROM message_search WHERE rowid = old.pos;
        END;
        PRAGMA user_version = 16;
        """;

    private static async Task<int> FoundAsync(TestUser user, string word)
    {
        var response = await user.Api.GetAsync("/search?q=" + word);
        response.AssertStatus(HttpStatusCode.OK, "search");
        return response.Json.GetProperty("messages").GetArrayLength();
    }

    [Fact]
    public async Task An_index_of_the_earlier_kind_is_made_again_and_deletes_then_leave_its_pages()
    {
        var directory = Path.Combine(Path.GetTempPath(), "parley-tests", Guid.NewGuid().ToString("N"));
        var early = "Earlyword" + Guid.NewGuid().ToString("N");
        var removed = "Removedword" + Guid.NewGuid().ToString("N");
        var later = "Laterword" + Guid.NewGuid().ToString("N");
        TestUser ann, bob;
        string chatId, toDelete;
        await using (var first = await ParleyServer.StartAsync(Sqlite, directory))
        {
            ann = await ApiClient.CreateUserAsync(first, "Ann");
            bob = await ApiClient.CreateUserAsync(first, "Bob");
            chatId = await ann.OpenChatWithAsync(bob);
            for (var i = 0; i < 5; i++) await ann.SendTextAsync(chatId, $"{early} {i}");
            var gone = await ann.SendTextAsync(chatId, $"{removed} before the upgrade");
            toDelete = (await ann.SendTextAsync(chatId, $"{removed} after the upgrade")).Str("id")!;
            Assert.Equal(2, await FoundAsync(bob, removed)); // the search indexes everything sent
            (await ann.Api.DeleteAsync($"/messages/{gone.Str("id")}?for=everyone")).AssertStatus(HttpStatusCode.NoContent, "delete before");
            await first.StopAsync();
        }
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(directory, "parley.db")};Pooling=false"))
        {
            connection.Open();
            using var downgrade = connection.CreateCommand();
            // The later steps are undone too, so that they run again after this one.
            downgrade.CommandText = Storage.SenderScrubsMigrationTests.UndoStep + Storage.AffectedUserMigrationTests.UndoStep + Storage.ClientKeysMigrationTests.UndoStep + Storage.ChatPositionsMigrationTests.UndoStep + Storage.ClientIdsMigrationTests.UndoStep + IndexOfStep16;
            downgrade.ExecuteNonQuery();
        }

        await using var second = await ParleyServer.StartAsync(Sqlite, directory);
        var annAgain = await ApiClient.SignInAgainAsync(second, ann);
        var bobAgain = await ApiClient.SignInAgainAsync(second, bob);
        Assert.Equal(5, await FoundAsync(bobAgain, early));
        Assert.Equal(1, await FoundAsync(bobAgain, removed));
        (await annAgain.Api.DeleteAsync($"/messages/{toDelete}?for=everyone")).AssertStatus(HttpStatusCode.NoContent, "delete after");
        await annAgain.SendTextAsync(chatId, $"{later} after the upgrade");
        Assert.Equal(0, await FoundAsync(bobAgain, removed));
        Assert.Equal(1, await FoundAsync(bobAgain, later));
        Assert.Equal(5, await FoundAsync(bobAgain, early));
        await second.StopAsync();

        // The file itself, whichever backend the rest of the suite runs on.
        var raw = await File.ReadAllBytesAsync(ServerDatabase.FilePath(second));
        Assert.True(raw.AsSpan().IndexOf(Encoding.UTF8.GetBytes(early.ToLowerInvariant())) >= 0, "the words kept are in the index");
        Assert.True(raw.AsSpan().IndexOf(Encoding.UTF8.GetBytes(removed.ToLowerInvariant())) < 0, "a deleted message's word is still in the index");
        await TestBackend.ReleaseAsync(directory);
        try { Directory.Delete(directory, recursive: true); } catch (IOException) { /* best effort */ }
    }
}
