using System.Globalization;
using Microsoft.Data.Sqlite;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Search;

/// <summary>SQLite's full-text index does not merge its segments by itself (a few hundred pages in
/// whichever transaction fills a level); the writer merges them a few pages a transaction. Each
/// batch the writer indexes is a segment of its own, so without those steps the index would hold
/// one segment a batch.</summary>
public sealed class SearchIndexMergeTests
{
    [Fact]
    public async Task The_writer_merges_the_index_segments_in_steps_and_every_message_is_still_found()
    {
        // Sends as fast as one client can make them: past the tests' usual limit of 1,000 a second.
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?>
        {
            ["Parley:Storage:Provider"] = "Sqlite",
            ["Parley:Limits:MessagesPerSecond"] = "100000",
        });
        Assert.Equal("0", Scalar(server, "SELECT v FROM message_search_config WHERE k = 'automerge'"));
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);

        // Ten batches of Parley.Server.Storage.Sqlite.SqliteSearchIndex.Chunk (512), and a few more
        // sends after the last, whose transactions carry the last merge steps.
        const int Batches = 10;
        const int Count = Batches * 512 + 64;
        for (var i = 1; i <= Count; i++) await ann.SendTextAsync(chatId, $"filler {i} word{i % 97}");

        var segments = int.Parse(Scalar(server, "SELECT count(DISTINCT segid) FROM message_search_idx")!, CultureInfo.InvariantCulture);
        Assert.InRange(segments, 1, Batches / 2);
        var indexed = int.Parse(Scalar(server, "SELECT count(*) FROM message_search WHERE message_search MATCH 'filler'")!, CultureInfo.InvariantCulture);
        Assert.InRange(indexed, Count - 512, Count);
        Assert.Equal(ExpectedWithWord(indexed, 5), Scalar(server, "SELECT count(*) FROM message_search WHERE message_search MATCH 'word5'"));
        // FTS5 checks its segments and fails the statement if one is inconsistent.
        Scalar(server, "INSERT INTO message_search (message_search) VALUES ('integrity-check')");

        // Through the API too: the newest message with the word, found after the search catches up.
        var found = await bob.Api.GetAsync("/search?q=word5&limit=1");
        found.AssertStatus(System.Net.HttpStatusCode.OK, "search");
        var newestWithWord = Enumerable.Range(1, Count).Last(i => i % 97 == 5);
        Assert.Equal($"filler {newestWithWord} word5", found.Json.GetProperty("messages")[0].Str("content"));
    }

    /// <summary>A statement on the server's SQLite file (this test's server is SQLite whatever the
    /// backend of the test run).</summary>
    private static string? Scalar(ParleyServer server, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={ServerDatabase.FilePath(server)};Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToString(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>How many of the messages 1..<paramref name="indexed"/> carry word<paramref name="word"/>.</summary>
    private static string ExpectedWithWord(int indexed, int word) =>
        Enumerable.Range(1, indexed).Count(i => i % 97 == word).ToString(CultureInfo.InvariantCulture);
}
