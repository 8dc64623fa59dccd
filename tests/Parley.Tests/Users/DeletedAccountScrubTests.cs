using System.Globalization;
using System.Net;
using System.Text.Json;
using Amazon.DynamoDBv2.Model;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Storage;
using Parley.Server.Storage.DynamoDb;
using Parley.Testing;
using Parley.Tests.Blobs;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Users;

/// <summary>Deleting an account takes its name off the messages it sent a few positions at a time
/// (slices of 3 here, 16,384 in production), each slice a write of its own, so other sends go on
/// between them. The deletion still answers only once every slice is done, and a scrub a stop or a
/// failure cut short finishes when the server starts again, or at its next sweep.</summary>
public sealed class DeletedAccountScrubTests : IAsyncLifetime
{
    private const string DeletedName = "Deleted account";
    private const string DayTimer = "turned on disappearing messages: new messages disappear after 24 hours";

    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "parley-tests", "scrub-" + Guid.NewGuid().ToString("N"));

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await TestBackend.ReleaseAsync(_dataDirectory);
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (IOException) { /* best effort */ }
    }

    private Task<ParleyServer> StartAsync(SenderScrubSlices? slices = null, IReadOnlyDictionary<string, string?>? settings = null) =>
        ParleyServer.StartAsync(settings, dataDirectory: _dataDirectory, services: slices is null ? null : s => s.AddSingleton(slices));

    private static bool FromQuill(JsonElement m, TestUser quill) => m.Str("senderId") == quill.Id;

    [Fact]
    public async Task Every_message_says_Deleted_account_when_the_delete_answers_and_others_sends_made_meanwhile_are_stored()
    {
        await using var server = await StartAsync(new SenderScrubSlices { Positions = 3 });
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var quill = await ApiClient.CreateUserAsync(server, "Bartholomew Quill");
        var carl = await ApiClient.CreateUserAsync(server, "Carl");
        var groupId = await ann.CreateGroupAsync("Many slices", quill, carl);
        var direct = await ann.OpenChatWithAsync(quill);
        (await quill.Api.PutAsync($"/chats/{direct}/settings", new { disappearAfterSeconds = 86400 })).AssertStatus(HttpStatusCode.OK, "timer");
        for (var i = 0; i < 12; i++)
        {
            await quill.SendTextAsync(groupId, $"quill {i}");
            await carl.SendTextAsync(groupId, $"carl before {i}");
            if (i % 3 == 0) await quill.SendTextAsync(direct, $"quill direct {i}");
        }

        // Carl keeps sending while the deletion's slices run.
        var deleting = new TaskCompletionSource();
        var carlSends = Task.Run(async () =>
        {
            var statuses = new List<HttpStatusCode>();
            for (var i = 0; i < 40 && (i < 5 || !deleting.Task.IsCompleted); i++)
            {
                statuses.Add((await carl.Api.PostAsync($"/chats/{groupId}/messages", new { content = $"carl during {i}" })).Status);
            }
            return statuses;
        });
        (await quill.Api.DeleteAsync("/users/me")).AssertStatus(HttpStatusCode.NoContent, "DELETE /users/me");
        deleting.SetResult();
        var statuses = await carlSends;
        Assert.All(statuses, status => Assert.Equal(HttpStatusCode.Created, status));

        var group = await ann.MessagesOldestFirstAsync(groupId);
        var quills = group.Where(m => FromQuill(m, quill)).ToList();
        Assert.Equal(12, quills.Count(m => m.Str("systemAction") is null));
        Assert.All(quills, m => Assert.Equal((DeletedName, null), (m.Str("senderName"), m.Str("senderAvatar"))));
        var carls = group.Where(m => m.Str("senderId") == carl.Id && m.Str("systemAction") is null).ToList();
        Assert.Equal(12 + statuses.Count, carls.Count);
        Assert.All(carls, m => Assert.Equal("Carl", m.Str("senderName")));

        var lines = await ann.MessagesOldestFirstAsync(direct);
        Assert.Equal(4, lines.Count(m => FromQuill(m, quill) && m.Str("systemAction") is null));
        Assert.All(lines.Where(m => FromQuill(m, quill)), m => Assert.Equal(DeletedName, m.Str("senderName")));
        Assert.Equal($"{DeletedName} {DayTimer}", lines.Single(m => m.Str("systemAction") == "disappearing_messages").Str("content"));
        Assert.DoesNotContain(group.Concat(lines), m => m.GetRawText().Contains("Quill", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_scrub_a_stop_cut_short_finishes_when_the_server_starts_again()
    {
        TestUser ann, quill;
        string direct;
        // The scrub stops after its first slice, as a server killed there would (and no sweep takes
        // it further before the stop).
        await using (var before = await StartAsync(new SenderScrubSlices { Positions = 3, StopAfter = 1 },
            new Dictionary<string, string?> { ["Parley:Retention:SweepSeconds"] = "3600" }))
        {
            ann = await ApiClient.CreateUserAsync(before, "Ann");
            quill = await ApiClient.CreateUserAsync(before, "Bartholomew Quill");
            direct = await ann.OpenChatWithAsync(quill);
            for (var i = 0; i < 10; i++) await quill.SendTextAsync(direct, $"quill {i}");
            (await quill.Api.DeleteAsync("/users/me")).AssertStatus(HttpStatusCode.NoContent, "DELETE /users/me");

            var cutShort = (await ann.HistoryAsync(direct)).Where(m => FromQuill(m, quill)).ToList();
            if (TestBackend.Store != TestStore.DynamoDb)
            {
                // Only DynamoDB renames its messages otherwise (and has no slices).
                Assert.Contains(cutShort, m => m.Str("senderName") == "Bartholomew Quill");
            }
            await before.StopAsync();
        }
        if (TestBackend.Store == TestStore.Sqlite) Assert.Equal(1, PendingScrubs(quill.Id));

        await using var after = await StartAsync();
        ann = ann with { Api = after.Api(ann.AccessToken) };
        var history = (await ann.HistoryAsync(direct)).Where(m => FromQuill(m, quill)).ToList();
        Assert.Equal(10, history.Count);
        Assert.All(history, m => Assert.Equal((DeletedName, null), (m.Str("senderName"), m.Str("senderAvatar"))));
        await after.StopAsync();
        if (TestBackend.Store == TestStore.Sqlite) Assert.Equal(0, PendingScrubs(quill.Id));
    }

    [Fact]
    public async Task A_scrub_cut_short_while_the_server_runs_is_finished_by_its_sweep()
    {
        // Every run of the scrub stops after one slice, as a deletion whose write failed there would;
        // the deletion still answers, and only the sweep (every second here) can take it further.
        await using var server = await StartAsync(new SenderScrubSlices { Positions = 3, StopAfter = 1 },
            new Dictionary<string, string?> { ["Parley:Retention:SweepSeconds"] = "1" });
        var (ann, quill, direct) = await QuillSendsThenIsDeletedAsync(server, 12);

        var deadline = DateTime.UtcNow.AddSeconds(60);
        List<JsonElement> history;
        while (true)
        {
            history = (await ann.HistoryAsync(direct)).Where(m => FromQuill(m, quill)).ToList();
            if (history.All(m => m.Str("senderName") == DeletedName) || DateTime.UtcNow > deadline) break;
            await Task.Delay(200);
        }
        Assert.Equal(12, history.Count);
        Assert.All(history, m => Assert.Equal((DeletedName, null), (m.Str("senderName"), m.Str("senderAvatar"))));
        await server.StopAsync();
        if (TestBackend.Store == TestStore.Sqlite) Assert.Equal(0, PendingScrubs(quill.Id));
    }

    [Fact]
    public async Task On_DynamoDB_a_rename_a_failure_left_under_way_is_finished_by_the_sweep()
    {
        if (TestBackend.Store != TestStore.DynamoDb) return; // the SQL stores' scrubs: the test above
        await using var server = await StartAsync(settings: new Dictionary<string, string?> { ["Parley:Retention:SweepSeconds"] = "1" });
        var (ann, quill, direct) = await QuillSendsThenIsDeletedAsync(server, 3);
        Assert.Null(ServerDynamo.Record(server, NameScrubs, quill.Id));

        // What a deletion whose rename failed half way leaves: its record, and a message with the old
        // name. The account's sessions are over, so no retry of the client's will come.
        var message = ServerDynamo.Scan(server, DynamoTables.Messages)
            .First(m => ServerDynamo.Text(m, "senderId") == quill.Id && ServerDynamo.Text(m, "senderName") == DeletedName);
        message["senderName"] = new AttributeValue { S = "Bartholomew Quill" };
        await ServerDynamo.PutAsync(server, DynamoTables.Messages, message);
        await ServerDynamo.PutAsync(server, DynamoTables.Records,
            new() { ["pk"] = new AttributeValue { S = NameScrubs }, ["sk"] = new AttributeValue { S = quill.Id } });

        await SweptAsync(server, quill.Id);
        Assert.All(ServerDynamo.Scan(server, DynamoTables.Messages).Where(m => ServerDynamo.Text(m, "senderId") == quill.Id),
            m => Assert.Equal(DeletedName, ServerDynamo.Text(m, "senderName")));
        var history = (await ann.HistoryAsync(direct)).Where(m => FromQuill(m, quill)).ToList();
        Assert.Equal(3, history.Count);
        Assert.All(history, m => Assert.Equal(DeletedName, m.Str("senderName")));
    }

    [Fact]
    public async Task On_DynamoDB_a_deletion_a_failure_cut_short_after_the_sessions_ended_is_finished_by_the_sweep()
    {
        if (TestBackend.Store != TestStore.DynamoDb) return; // the SQL stores delete an account in one transaction
        await using var server = await StartAsync(settings: new Dictionary<string, string?> { ["Parley:Retention:SweepSeconds"] = "1" });
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var quill = await ApiClient.CreateUserAsync(server, "Bartholomew Quill");
        var photo = await MediaBlobLifecycleTests.UploadAsync(quill, "/users/me/photo", HttpMethod.Put);
        var unsent = await MediaBlobLifecycleTests.UploadAsync(quill);
        Assert.Equal(HttpStatusCode.OK, (await MediaBlobLifecycleTests.DownloadAsync(ann, photo)).Status);
        bool Left(Dictionary<string, AttributeValue> r) =>
            ServerDynamo.Text(r, "pk") is var pk && (pk == "uploads#" + quill.Id || pk == "media#" + photo || pk == "media#" + unsent);
        var left = ServerDynamo.Scan(server, DynamoTables.Records).Where(Left).ToList();
        Assert.Equal(4, left.Count); // two uploads, each with its media row
        (await quill.Api.DeleteAsync("/users/me")).AssertStatus(HttpStatusCode.NoContent, "DELETE /users/me");
        Assert.DoesNotContain(ServerDynamo.Scan(server, DynamoTables.Records), Left);

        // What a deletion that failed once the sessions had ended leaves: its record, the uploads no
        // chat shows with their media rows and bytes. No retry of the client's will come.
        foreach (var record in left) await ServerDynamo.PutAsync(server, DynamoTables.Records, record);
        var blobs = server.Services.GetRequiredService<Parley.Server.Blobs.IBlobStore>();
        await blobs.PutAsync(unsent, MediaBlobLifecycleTests.Png, "image/png");
        await ServerDynamo.PutAsync(server, DynamoTables.Records,
            new() { ["pk"] = new AttributeValue { S = NameScrubs }, ["sk"] = new AttributeValue { S = quill.Id } });
        Assert.Equal(HttpStatusCode.NotFound, (await MediaBlobLifecycleTests.DownloadAsync(ann, photo)).Status); // its photo went first

        await SweptAsync(server, quill.Id);
        Assert.DoesNotContain(ServerDynamo.Scan(server, DynamoTables.Records), Left);
        Assert.Null(await blobs.GetAsync(unsent));
    }

    [Fact]
    public async Task On_DynamoDB_a_send_whose_position_was_taken_before_the_deletion_is_stored_then_renamed()
    {
        if (TestBackend.Store != TestStore.DynamoDb) return; // PostgreSQL: CrossNodeDeliveryOnPostgresTests
        await using var server = await StartAsync();
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var quill = await ApiClient.CreateUserAsync(server, "Bartholomew Quill");
        var direct = await ann.OpenChatWithAsync(quill);
        var first = await quill.SendTextAsync(direct, "before");

        // A send of Quill's on another node has read Quill's name and taken the chat's next position
        // just now, and has not stored its message yet.
        var (lastPos, lastSeq, chatNo) = await ServerDynamo.ClaimPositionAsync(server, direct, quill.Id, positions: 1, DateTimeOffset.UtcNow);
        static AttributeValue N(long value) => new() { N = value.ToString(CultureInfo.InvariantCulture) };
        var inFlight = ServerDynamo.Scan(server, DynamoTables.Messages).Single(m => ServerDynamo.Text(m, "id") == first.Str("id"));
        inFlight["pos"] = N(lastPos + 1);
        inFlight["seq"] = N(lastSeq + 1);
        inFlight["prevPos"] = N(lastPos);
        inFlight["id"] = new AttributeValue { S = ChatItems.MessageId(chatNo, lastPos + 1) };
        inFlight["content"] = new AttributeValue { S = "in flight" };

        // The deletion's renaming of the chat waits for that message (a few seconds here; without the
        // wait it finishes at once, and the message then comes with the old name).
        var deletion = quill.Api.DeleteAsync("/users/me");
        await Task.WhenAny(deletion, Task.Delay(TimeSpan.FromSeconds(3)));
        await ServerDynamo.PutAsync(server, DynamoTables.Messages, inFlight);
        (await deletion).AssertStatus(HttpStatusCode.NoContent, "DELETE /users/me");

        var quills = (await ann.HistoryAsync(direct)).Where(m => FromQuill(m, quill)).ToList();
        Assert.Equal(["before", "in flight"], quills.Select(m => m.Str("content")).Order());
        Assert.All(quills, m => Assert.Equal(DeletedName, m.Str("senderName")));
    }

    /// <summary>Ann and Quill in a chat, Quill sends <paramref name="messages"/> messages to it and
    /// then deletes the account (the deletion has answered).</summary>
    private static async Task<(TestUser Ann, TestUser Quill, string Direct)> QuillSendsThenIsDeletedAsync(ParleyServer server, int messages)
    {
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var quill = await ApiClient.CreateUserAsync(server, "Bartholomew Quill");
        var direct = await ann.OpenChatWithAsync(quill);
        for (var i = 0; i < messages; i++) await quill.SendTextAsync(direct, $"quill {i}");
        (await quill.Api.DeleteAsync("/users/me")).AssertStatus(HttpStatusCode.NoContent, "DELETE /users/me");
        return (ann, quill, direct);
    }

    /// <summary>Where the DynamoDB store records the deletions under way.</summary>
    private const string NameScrubs = "namescrubs";

    /// <summary>Waits (up to a minute) for a sweep to finish the DynamoDB deletion of <paramref name="userId"/>:
    /// its record goes last.</summary>
    private static async Task SweptAsync(ParleyServer server, string userId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (ServerDynamo.Record(server, NameScrubs, userId) is not null && DateTime.UtcNow < deadline) await Task.Delay(200);
        Assert.Null(ServerDynamo.Record(server, NameScrubs, userId));
    }

    /// <summary>The scrubs of the account the stopped server's file records as under way.</summary>
    private long PendingScrubs(string userId)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_dataDirectory, "parley.db")};Mode=ReadOnly;Pooling=false");
        connection.Open();
        using var query = connection.CreateCommand();
        query.CommandText = "SELECT count(*) FROM sender_scrubs WHERE user_id = $1";
        query.Parameters.AddWithValue("$1", userId);
        return (long)query.ExecuteScalar()!;
    }
}
