using System.Net;
using Microsoft.Data.Sqlite;
using Parley.Server.Storage.Sqlite;
using Parley.Testing;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Storage;

/// <summary>A database from before the deleted accounts' name scrubs were kept in a table of their
/// own takes the step, and its deletions then scrub in slices; a scrub recorded in the file as under
/// way (as a server killed between two slices leaves it) is finished at the next start.</summary>
public sealed class SenderScrubsMigrationTests() : SqliteMigrationTest("sender-scrubs")
{
    /// <summary>Takes a database back to before the step.</summary>
    internal const string UndoStep = "DROP TABLE sender_scrubs;";

    [Fact]
    public async Task An_old_database_takes_the_step_and_a_deletion_then_renames_every_message()
    {
        var (ann, quill, direct) = await SeedAsync(deleteQuill: false);
        await TakeBackAsync(UndoStep, SqliteMigrations.SenderScrubsStep - 1);

        await using var after = await ParleyServer.StartAsync(Sqlite, DataDirectory);
        ann = ann with { Api = after.Api(ann.AccessToken) };
        quill = quill with { Api = after.Api(quill.AccessToken) };
        (await quill.Api.DeleteAsync("/users/me")).AssertStatus(HttpStatusCode.NoContent, "DELETE /users/me");
        var sent = (await ann.HistoryAsync(direct)).Where(m => m.Str("senderId") == quill.Id).ToList();
        Assert.Equal(5, sent.Count);
        Assert.All(sent, m => Assert.Equal("Deleted account", m.Str("senderName")));
        await after.StopAsync();

        using var check = OpenFileReadOnly();
        Assert.Equal(0L, Count(check, "SELECT count(*) FROM sender_scrubs"));
    }

    [Fact]
    public async Task A_scrub_the_file_records_as_under_way_is_finished_at_the_next_start()
    {
        var (ann, quill, direct) = await SeedAsync(deleteQuill: true);
        // As the deletion's transaction left it, with the server killed before any slice: the
        // account anonymized, its messages still named, the scrub recorded from the start.
        await TestBackend.ReleaseAsync(DataDirectory);
        using (var connection = new SqliteConnection($"Data Source={DatabaseFile};Pooling=false"))
        {
            connection.Open();
            using var crash = connection.CreateCommand();
            crash.CommandText =
                """
                UPDATE messages SET sender_name = 'Bartholomew Quill', sender_avatar = 'BQ' WHERE sender_id = $1;
                INSERT INTO sender_scrubs (user_id, next_pos, end_pos) SELECT $1, 0, max(pos) FROM messages;
                """;
            crash.Parameters.AddWithValue("$1", quill.Id);
            crash.ExecuteNonQuery();
        }

        await using var after = await ParleyServer.StartAsync(Sqlite, DataDirectory);
        ann = ann with { Api = after.Api(ann.AccessToken) };
        var sent = (await ann.HistoryAsync(direct)).Where(m => m.Str("senderId") == quill.Id).ToList();
        Assert.Equal(5, sent.Count);
        Assert.All(sent, m => Assert.Equal(("Deleted account", null), (m.Str("senderName"), m.Str("senderAvatar"))));
        Assert.Contains(after.Logs, line => line.Contains("deleted accounts' names off their messages", StringComparison.Ordinal));
        await after.StopAsync();

        using var check = OpenFileReadOnly();
        Assert.Equal(0L, Count(check, "SELECT count(*) FROM sender_scrubs"));
        Assert.Equal(0L, Count(check, "SELECT count(*) FROM messages WHERE sender_name = 'Bartholomew Quill'"));
    }

    /// <summary>Ann and Bartholomew Quill in a direct chat, five messages from Quill, on a server
    /// stopped afterwards; Quill's account deleted before the stop when asked.</summary>
    private async Task<(TestUser Ann, TestUser Quill, string Direct)> SeedAsync(bool deleteQuill)
    {
        await using var before = await ParleyServer.StartAsync(Sqlite, DataDirectory);
        var ann = await ApiClient.CreateUserAsync(before, "Ann");
        var quill = await ApiClient.CreateUserAsync(before, "Bartholomew Quill");
        var direct = await ann.OpenChatWithAsync(quill);
        for (var i = 0; i < 5; i++) await quill.SendTextAsync(direct, $"quill {i}");
        if (deleteQuill) (await quill.Api.DeleteAsync("/users/me")).AssertStatus(HttpStatusCode.NoContent, "DELETE /users/me");
        await before.StopAsync();
        return (ann, quill, direct);
    }

    private static long Count(SqliteConnection connection, string sql)
    {
        using var query = connection.CreateCommand();
        query.CommandText = sql;
        return (long)query.ExecuteScalar()!;
    }
}
