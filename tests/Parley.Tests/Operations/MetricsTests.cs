using System.Globalization;
using System.Net;
using Parley.Testing;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Operations;

/// <summary>Alone, never beside other test servers: every server in this process makes a meter named
/// "Parley", and a scrape would read the other servers' instruments as well as its own.</summary>
[CollectionDefinition(nameof(MetricsTests), DisableParallelization = true)]
public sealed class MetricsCollection;

[Collection(nameof(MetricsTests))]
public sealed class MetricsTests
{
    /// <summary>The scrape as metric name → sum over its label sets.</summary>
    internal static async Task<Dictionary<string, double>> ScrapeAsync(ParleyServer server)
    {
        using var http = server.CreateClient();
        var response = await http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType);
        var values = new Dictionary<string, double>();
        foreach (var line in (await response.Content.ReadAsStringAsync()).Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var nameEnd = line.IndexOfAny(['{', ' ']);
            var name = line[..nameEnd];
            var value = double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            values[name] = values.GetValueOrDefault(name) + value;
        }
        return values;
    }

    [Fact]
    public async Task After_traffic_metrics_count_messages_sockets_commits_and_sync_pages()
    {
        await using var server = await ParleyServer.StartAsync();
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        var cursor = await bob.CurrentCursorAsync();
        await using var bobSocket = await bob.ConnectAsync(server);
        for (var i = 0; i < 5; i++)
        {
            await ann.SendTextAsync(chatId, $"metric {i}");
            await bobSocket.WaitForMessageAsync(chatId, $"metric {i}");
        }
        await bob.SyncAllAsync(cursor);

        var m = await ScrapeAsync(server);
        Assert.True(m.GetValueOrDefault("parley_messages_stored_total") >= 5, "messages stored");
        Assert.True(m.GetValueOrDefault("parley_messages_delivered_total") >= 5, "messages delivered");
        Assert.True(m.GetValueOrDefault("parley_sockets_open") >= 1, "open sockets");
        Assert.True(m.GetValueOrDefault("parley_sync_pages_total") >= 1, "sync pages");
        Assert.True(m.GetValueOrDefault("parley_store_commit_duration_seconds_count") >= 5, "commit latency");
        Assert.True(m.GetValueOrDefault("parley_store_commit_batch_size_count") >= 5, "batch sizes");
        Assert.True(m.GetValueOrDefault("parley_store_commit_batch_size_sum") >= 5, "operations committed");
        if (TestBackend.Store != TestStore.DynamoDb)
        {
            // The stages around a transaction, where sends queue for a writer (DynamoDB's writes go straight to the table).
            Assert.True(m.GetValueOrDefault("parley_store_queue_duration_seconds_count") >= 5, "time queued for the writer");
            Assert.True(m.GetValueOrDefault("parley_store_handover_duration_seconds_count") >= 5, "time from commit to hand-over");
        }
        Assert.Contains(m.Keys, k => k.StartsWith("http_server_request_duration_seconds"));
        // The runtime's own meter: what the work above allocated, and the pool threads that ran it.
        Assert.True(m.GetValueOrDefault("dotnet_gc_heap_total_allocated_bytes_total") > 0, "bytes allocated");
        Assert.True(m.GetValueOrDefault("dotnet_thread_pool_work_item_count_total") > 0, "pool work items");
        Assert.Contains("dotnet_gc_pause_time_seconds_total", m.Keys);
    }

    [Theory]
    [InlineData("Parley:Metrics:Enabled", "false")]
    [InlineData("Parley:Metrics:Port", "1")]
    [InlineData("Parley:Metrics:AllowedAddresses:0", "10.0.0.0/8")]
    public async Task Metrics_can_be_turned_off_or_kept_to_a_port_or_network(string key, string value)
    {
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?> { [key] = value });
        using var http = server.CreateClient();
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/metrics")).StatusCode);
    }

    [Fact]
    public async Task Metrics_answer_the_allowed_address()
    {
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Metrics:AllowedAddresses:0"] = "127.0.0.1" });
        await ScrapeAsync(server);
    }
}
