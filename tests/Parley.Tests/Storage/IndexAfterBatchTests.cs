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

    private static SqliteDatabase Writer(ParleyServer server) => server.Services.GetRequiredService<SqliteDatabase>();

    private static string NewDirectory() => Path.Combine(Path.GetTempPath(), "parley-tests", Guid.NewGuid().ToString("N"));
}
