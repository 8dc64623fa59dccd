using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Storage.Sqlite;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Storage;

/// <summary>The writer brings the search index (and the other indexes behind a watermark) forward
/// in a transaction of its own after each batch. With <c>Synchronous=Full</c> that transaction
/// commits without a sync of its own; every send's commit still syncs, and what was sent is found
/// by search and is still there after a restart.</summary>
public sealed class IndexAfterBatchTests
{
    [Theory]
    [InlineData("Normal")]
    [InlineData("Full")]
    public async Task Sends_past_a_search_chunk_are_found_and_kept_and_the_writer_keeps_its_sync_setting(string synchronous)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Parley:Storage:Provider"] = "Sqlite",
            ["Parley:Storage:Synchronous"] = synchronous,
            ["Parley:Limits:MessagesPerSecond"] = "100000",
        };
        string dataDirectory;
        string chatId;
        // Past SqliteSearchIndex.Chunk (512): the writer indexes after a batch at least once.
        const int Count = 600;
        TestUser ann;
        {
            await using var server = await ParleyServer.StartAsync(settings, dataDirectory: NewDirectory());
            dataDirectory = server.DataDirectory;
            ann = await ApiClient.CreateUserAsync(server, "Ann");
            var bob = await ApiClient.CreateUserAsync(server, "Bob");
            chatId = await ann.OpenChatWithAsync(bob);
            for (var i = 1; i <= Count; i++) await ann.SendTextAsync(chatId, $"note {i} tag{i % 13}");

            var indexed = await Writer(server).WriteAsync(w => w.Connection.Scalar("SELECT indexed_pos FROM search_index"));
            Assert.True(indexed > 0, "the writer indexed a chunk after a batch");
            // The transaction after the batch may commit without a sync; the writer's own setting is back.
            var expected = synchronous == "Full" ? 2L : 1L;
            Assert.Equal(expected, await Writer(server).WriteAsync(w => w.Connection.Scalar("PRAGMA synchronous")));

            var found = await bob.Api.GetAsync("/search?q=tag7&limit=1");
            found.AssertStatus(System.Net.HttpStatusCode.OK, "search");
            var newest = Enumerable.Range(1, Count).Last(i => i % 13 == 7);
            Assert.Equal($"note {newest} tag7", found.Json.GetProperty("messages")[0].Str("content"));
        }

        // Stopped and started again on the same file: every message is there, in order.
        await using var again = await ParleyServer.StartAsync(settings, dataDirectory);
        try
        {
            var signedIn = await ApiClient.SignInAgainAsync(again, ann);
            var history = await signedIn.Api.GetAsync($"/chats/{chatId}/messages?limit=1");
            history.AssertStatus(System.Net.HttpStatusCode.OK, "history");
            Assert.Equal($"note {Count} tag{Count % 13}", history.Json.GetProperty("messages")[0].Str("content"));
        }
        finally
        {
            try { Directory.Delete(dataDirectory, recursive: true); } catch (IOException) { /* best effort */ }
        }
    }

    [Fact]
    public async Task Index_work_put_off_for_waiting_sends_is_done_within_a_few_batches()
    {
        await using var server = await ParleyServer.StartAsync(
            new Dictionary<string, string?> { ["Parley:Storage:Provider"] = "Sqlite" }, dataDirectory: NewDirectory());
        var db = Writer(server);
        // A chain of operations, each queueing the next while its own batch is still open: every
        // batch is one operation and finds the next waiting when it commits, as small batches do
        // under a steady load. Each takes a run of positions and reads how far behind them the
        // search index's watermark is.
        const int Operations = 200, PositionsEach = 64;
        var behind = new List<long>();
        var queued = new List<Task<bool>>();
        var allQueued = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool Step(WriteContext w)
        {
            long pos = 0;
            for (var i = 0; i < PositionsEach; i++) pos = w.NextPosition();
            behind.Add(pos - w.Connection.Scalar("SELECT indexed_pos FROM search_index"));
            lock (queued)
            {
                if (queued.Count < Operations) queued.Add(db.WriteAsync(Step));
                else allQueued.TrySetResult();
            }
            return true;
        }
        lock (queued) queued.Add(db.WriteAsync(Step));
        await allQueued.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await Task.WhenAll(queued);

        // Put off for at most MaxIndexDeferrals batches, then done: the index is never further
        // behind a send than a search chunk and those batches' positions (and its own batch's).
        const long Bound = SqliteSearchIndex.Chunk + (SqliteDatabase.MaxIndexDeferrals + 2) * PositionsEach;
        Assert.Equal(Operations, behind.Count);
        Assert.True(behind.Max() <= Bound, $"the index was {behind.Max()} positions behind a send (at most {Bound})");
    }

    private static SqliteDatabase Writer(ParleyServer server) => server.Services.GetRequiredService<SqliteDatabase>();

    private static string NewDirectory() => Path.Combine(Path.GetTempPath(), "parley-tests", Guid.NewGuid().ToString("N"));
}
