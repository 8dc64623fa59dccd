using System.Net;
using Microsoft.Data.Sqlite;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Search;

/// <summary>A SQLite search index that fails (here: gone from under the server) does not fail sends,
/// and the writer, which tries it again in every batch, says so once a minute, not once a batch.</summary>
public sealed class SearchIndexFailureTests
{
    [Fact]
    public async Task A_failing_index_is_logged_once_not_per_batch_and_every_send_is_stored()
    {
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Storage:Provider"] = "Sqlite" });
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        using (var connection = new SqliteConnection($"Data Source={ServerDatabase.FilePath(server)};Pooling=false"))
        {
            connection.Open();
            using var drop = connection.CreateCommand();
            drop.CommandText = "DROP TABLE message_search";
            drop.ExecuteNonQuery();
        }

        // The writer indexes once 512 positions are waiting, and then tries again in every batch.
        const int Sent = 1200;
        for (var i = 0; i < Sent; i++) await ann.SendTextAsync(chatId, $"message {i}");

        Assert.Single(server.Logs, l => l.Contains("Indexing messages for search failed", StringComparison.Ordinal));
        var newest = await bob.Api.GetAsync($"/chats/{chatId}/messages?limit=1");
        newest.AssertStatus(HttpStatusCode.OK, "history");
        Assert.Equal($"message {Sent - 1}", newest.Json.GetProperty("messages")[0].Str("content"));
    }
}
