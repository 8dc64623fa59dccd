using System.Text;
using Parley.Bench.Infrastructure;
using Parley.Bench.Tests.Infrastructure;

namespace Parley.Bench.Tests;

public sealed class SetupAndParsingTests
{
    [Fact]
    public async Task Users_are_registered_and_signed_in_in_parallel()
    {
        await using var server = await BenchServer.StartAsync();
        using var api = new ApiClient(server.BaseAddress, 8);
        var users = new BenchUser[12];
        await Parallel.ForAsync(0, users.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            users[i] = await api.CreateUserAsync(i, "setup", ct);
        });
        Assert.Equal(users.Length, users.Select(u => u.Id).Distinct().Count());
        Assert.All(users, u => Assert.False(string.IsNullOrEmpty(u.AccessToken)));
    }

    [Fact]
    public void The_command_lines_of_BENCHMARKS_md_parse()
    {
        var pairs = BenchOptions.Parse(["pairs", "--users", "1000", "--rate", "max", "--window", "8", "--duration", "10", "--server-pid", "123", "--json"]);
        Assert.Null(pairs.Rate);
        Assert.Equal(8, pairs.Window);
        Assert.Equal(123, pairs.ServerPid);
        Assert.True(pairs.Json);

        var conns = BenchOptions.Parse(["conns", "--steps", "1k,5k,10k,19k", "--procs", "auto"]);
        Assert.Equal([1000, 5000, 10000, 19000], conns.Steps);
        Assert.Null(conns.Procs);
        Assert.False(conns.WsTokenInHeader);
        Assert.True(BenchOptions.Parse(["conns", "--ws-token", "header"]).WsTokenInHeader);
        Assert.Throws<ArgumentException>(() => BenchOptions.Parse(["conns", "--ws-token", "cookie"]));

        var history = BenchOptions.Parse(["history", "--messages=1_000_000", "--send-via", "rest"]);
        Assert.Equal(1_000_000, history.Messages);
        Assert.True(history.SendViaRest);

        Assert.Equal(200, BenchOptions.Parse(["group"]).Rate);

        Assert.Equal(2, BenchOptions.Parse(["pairs", "--deletes-per-second", "2"]).DeletesPerSecond);
        Assert.Throws<ArgumentException>(() => BenchOptions.Parse(["pairs", "--deletes-per-second", "-1"]));

        Assert.True(BenchOptions.Parse(["pairs", "--one-way"]).OneWay);
        Assert.False(BenchOptions.Parse(["pairs"]).OneWay);
        Assert.Throws<ArgumentException>(() => BenchOptions.Parse(["group", "--one-way"]));
    }

    [Theory]
    [InlineData("http://10.0.0.1:8080")]
    [InlineData("http://example.com")]
    public void Only_loopback_servers_are_accepted(string url)
    {
        Assert.Throws<ArgumentException>(() => BenchOptions.Parse(["pairs", "--url", url]));
    }

    [Fact]
    public void Message_frames_are_read_in_any_member_order()
    {
        var json = """{"data":{"id":"msg_1","chatId":"chat_a_b","seq":42,"senderId":"u1","participants":[{"id":"x"}],"content":"bench:12345:xx","clientMessageId":"b7"},"cursor":"99","type":"message"}"""u8;
        Assert.True(Frame.TryParse(json, out var frame));
        Assert.Equal(FrameType.Message, frame.Type);
        Assert.Equal("chat_a_b", Encoding.UTF8.GetString(frame.ChatId));
        Assert.Equal(42, frame.Seq);
        Assert.Equal("99", Encoding.UTF8.GetString(frame.Cursor));
        Assert.True(Frame.TryParseBenchContent(frame.Content, out var ticks));
        Assert.Equal(12345, ticks);
        Assert.True(Frame.TryParseClientId(frame.ClientMessageId, out var n));
        Assert.Equal(7, n);
    }

    [Fact]
    public void Store_transactions_are_read_from_the_metrics_page_and_counted_per_phase()
    {
        static string Page(long fast, long upTo25, long upTo50, long upTo100, long all) => $$"""
            # TYPE parley_store_commit_duration_seconds histogram
            parley_store_commit_duration_seconds_bucket{otel_scope_name="Parley.Store",le="0.01"} {{fast}}
            parley_store_commit_duration_seconds_bucket{otel_scope_name="Parley.Store",le="0.025"} {{upTo25}}
            parley_store_commit_duration_seconds_bucket{otel_scope_name="Parley.Store",le="0.05"} {{upTo50}}
            parley_store_commit_duration_seconds_bucket{otel_scope_name="Parley.Store",le="0.1"} {{upTo100}}
            parley_store_commit_duration_seconds_bucket{otel_scope_name="Parley.Store",le="+Inf"} {{all}}
            parley_store_commit_duration_seconds_count{otel_scope_name="Parley.Store"} {{all}}
            parley_store_commit_batch_size_bucket{otel_scope_name="Parley.Store",le="+Inf"} 999999
            """;
        var before = StoreTransactions.Parse(Page(90, 95, 97, 99, 100))!;
        var after = StoreTransactions.Parse(Page(1000, 1040, 1050, 1055, 1060))!;
        Assert.Equal((100L, 5L, 3L, 1L), (before.Total, before.Over(0.025), before.Over(0.05), before.Over(0.1)));
        var phase = after.Since(before);
        Assert.Equal((960L, 15L, 7L, 4L), (phase.Total, phase.Over(0.025), phase.Over(0.05), phase.Over(0.1)));
        Assert.Null(StoreTransactions.Parse("# no store here\nhttp_requests_total 5\n"));
    }

    [Fact]
    public void Server_runtime_counters_are_read_from_the_metrics_page_and_counted_per_phase()
    {
        static string Page(long allocated, long gen0, long gen1, long gen2, double pause, long items, string jit = "") => $$"""
            # TYPE dotnet_gc_heap_total_allocated_bytes_total counter
            dotnet_gc_heap_total_allocated_bytes_total{otel_scope_name="System.Runtime"} {{allocated}}
            dotnet_gc_collections_total{otel_scope_name="System.Runtime",gc_heap_generation="gen2"} {{gen2}}
            dotnet_gc_collections_total{otel_scope_name="System.Runtime",gc_heap_generation="gen1"} {{gen1}}
            dotnet_gc_collections_total{otel_scope_name="System.Runtime",gc_heap_generation="gen0"} {{gen0}}
            dotnet_gc_last_collection_heap_size_bytes{otel_scope_name="System.Runtime",gc_heap_generation="gen0"} 77
            dotnet_gc_pause_time_seconds_total{otel_scope_name="System.Runtime"} {{pause.ToString(System.Globalization.CultureInfo.InvariantCulture)}}
            dotnet_thread_pool_work_item_count_total{otel_scope_name="System.Runtime"} {{items}}
            {{jit}}
            """;
        static string Jit(string seconds) => $$"""dotnet_jit_compilation_time_seconds_total{otel_scope_name="System.Runtime"} {{seconds}}""";
        var before = ServerRuntime.Parse(Page(1_000_000, 10, 2, 1, 0.5, 400, Jit("2.5")))!;
        var after = ServerRuntime.Parse(Page(51_000_000, 35, 4, 1, 0.75, 10_400, Jit("3.75")))!;
        var phase = after.Since(before);
        Assert.Equal((50_000_000L, 25L, 2L, 0L, 10_000L), (phase.AllocatedBytes, phase.Gen0Collections, phase.Gen1Collections, phase.Gen2Collections, phase.WorkItems));
        Assert.Equal(0.25, phase.PauseSeconds, 6);
        Assert.Equal(1.25, phase.JitSeconds, 6);
        // The JIT counter is optional: a runtime that does not report it still gives the rest.
        var withoutJit = ServerRuntime.Parse(Page(1_000_000, 10, 2, 1, 0.5, 400))!;
        Assert.Equal((0.0, 400L), (withoutJit.JitSeconds, withoutJit.WorkItems));
        // A page without the runtime's meter (another server, or metrics exported elsewhere).
        Assert.Null(ServerRuntime.Parse("parley_store_commit_duration_seconds_count 5\n"));
    }

    [Fact]
    public void Histogram_percentiles_are_within_two_percent()
    {
        var h = new Histogram();
        for (var i = 1; i <= 100_000; i++) h.Record(i);
        Assert.InRange(h.ValueAt(50), 50_000, 51_000);
        Assert.InRange(h.ValueAt(99), 99_000, 101_000);
        Assert.Equal(100_000, h.Summary().MaxMs * 1000);
    }
}
