using System.Net;
using Parley.Server.Storage.Sqlite;
using Parley.Testing;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Storage;

/// <summary>A database from before system messages recorded whose name they carry, and before a
/// disappearing-messages line stored its text without the actor's name: the step keeps every old
/// line readable; deleting an account then takes its name out of its old disappearing-messages lines,
/// while an old line naming it as the member added cannot be matched and keeps the name.</summary>
public sealed class AffectedUserMigrationTests() : SqliteMigrationTest("affected-user")
{
    private const string DayTimer = "turned on disappearing messages: new messages disappear after 24 hours";

    /// <summary>Takes a database back to before the step.</summary>
    internal const string UndoStep =
        """
        DROP INDEX messages_by_affected_user;
        ALTER TABLE messages DROP COLUMN affected_user_id;
        """;

    /// <summary>The disappearing-messages lines get the actor's name in front, as they were stored then.</summary>
    private const string NamedTimerLines =
        "UPDATE messages SET content = sender_name || ' ' || content WHERE system_action = 'disappearing_messages';";

    [Fact]
    public async Task Old_lines_read_as_before_and_a_deletion_rewrites_what_it_can_match()
    {
        TestUser ann, quill;
        string groupId;
        await using (var before = await ParleyServer.StartAsync(Sqlite, DataDirectory))
        {
            ann = await ApiClient.CreateUserAsync(before, "Ann");
            quill = await ApiClient.CreateUserAsync(before, "Bartholomew Quill");
            groupId = await ann.CreateGroupAsync("Old times");
            (await ann.Api.PostAsync($"/groups/{groupId}/members", new { memberIds = new[] { quill.Id } })).AssertStatus(HttpStatusCode.OK, "add Quill");
            (await ann.Api.PostAsync($"/groups/{groupId}/admins/{quill.Id}", null)).AssertStatus(HttpStatusCode.NoContent, "promote Quill");
            (await quill.Api.PutAsync($"/chats/{groupId}/settings", new { disappearAfterSeconds = 86400 })).AssertStatus(HttpStatusCode.OK, "timer");
            await before.StopAsync();
        }
        await TakeBackAsync(SenderScrubsMigrationTests.UndoStep + UndoStep + NamedTimerLines, SqliteMigrations.AffectedUserStep - 1);

        await using var after = await ParleyServer.StartAsync(Sqlite, DataDirectory);
        ann = ann with { Api = after.Api(ann.AccessToken) };
        quill = quill with { Api = after.Api(quill.AccessToken) };
        var history = await ann.MessagesOldestFirstAsync(groupId);
        var added = history.Single(m => m.Str("systemAction") == "member_added");
        Assert.Equal(("Ann added Bartholomew Quill", null), (added.Str("content"), added.Str("affectedUserId")));
        Assert.Equal($"Bartholomew Quill {DayTimer}", history.Single(m => m.Str("systemAction") == "disappearing_messages").Str("content"));

        (await quill.Api.DeleteAsync("/users/me")).AssertStatus(HttpStatusCode.NoContent, "DELETE /users/me");

        history = await ann.MessagesOldestFirstAsync(groupId);
        Assert.Equal($"Deleted account {DayTimer}", history.Single(m => m.Str("systemAction") == "disappearing_messages").Str("content"));
        // Stored without the id: not matched (docs/API.md says so).
        Assert.Equal("Ann added Bartholomew Quill", history.Single(m => m.Str("systemAction") == "member_added").Str("content"));
        await after.StopAsync();
        await TestBackend.ReleaseAsync(DataDirectory);

        using var check = OpenFileReadOnly();
        using var query = check.CreateCommand();
        query.CommandText = "SELECT content FROM messages WHERE system_action = 'disappearing_messages'";
        Assert.Equal(DayTimer, query.ExecuteScalar());
    }
}
