using Parley.Bench.Tests.Infrastructure;

namespace Parley.Bench.Tests;

/// <summary>One real in-process server for the class; each test runs a tiny instance of one
/// workload through <see cref="BenchRunner.RunAsync"/>. Correctness only: nothing lost, nothing
/// twice, everything owed delivered. No timing assertions (speed lives in BENCHMARKS.md).</summary>
public sealed class WorkloadSmokeTests(WorkloadSmokeTests.ServerFixture fixture) : IClassFixture<WorkloadSmokeTests.ServerFixture>
{
    public sealed class ServerFixture : IAsyncLifetime
    {
        public BenchServer Server { get; private set; } = null!;
        public async Task InitializeAsync() => Server = await BenchServer.StartAsync();
        public async Task DisposeAsync() => await Server.DisposeAsync();
    }

    private BenchOptions Options(string workload, Action<BenchOptions> configure)
    {
        var options = BenchOptions.ForWorkload(workload);
        options.Url = fixture.Server.BaseAddress;
        options.ServerPid = Environment.ProcessId;
        options.Quiet = true;
        options.SetupConcurrency = 4;
        options.ConnectConcurrency = 4;
        options.DrainSeconds = 15;
        options.TimeoutSeconds = 120;
        options.WarmupSeconds = 0.5;
        configure(options);
        return options;
    }

    private static void AssertAllDeliveredOnce(BenchReport report)
    {
        Assert.True(report.Expected > 0, "the run owed no deliveries at all:\n" + report.ToTable());
        Assert.True(report.Lost == 0, "lost deliveries:\n" + report.ToTable());
        Assert.True(report.Duplicates == 0, "duplicated deliveries:\n" + report.ToTable());
        Assert.True(report.Delivered == report.Expected, "delivered differs from expected:\n" + report.ToTable());
        Assert.True(report.SendErrors == 0, "send errors:\n" + report.ToTable());
    }

    [Fact]
    public async Task Pairs_at_a_fixed_rate_deliver_every_message_exactly_once()
    {
        var report = await BenchRunner.RunAsync(Options("pairs", o =>
        {
            o.Users = 4;
            o.Rate = 100;
            o.DurationSeconds = 1;
        }));
        AssertAllDeliveredOnce(report);
        Assert.Equal(report.Stored, report.Expected);
        Assert.NotNull(report.EndToEnd);
        Assert.NotNull(report.Resources?.Server);
        // The server's write transactions of the measured phase, read from its /metrics.
        Assert.True(report.Figures["store write transactions"] > 0, report.ToTable());
        Assert.InRange(report.Figures["store write transactions over 25 ms"], 0, report.Figures["store write transactions"]);
        // And what its runtime did for each message: a send allocates and runs pool work items.
        Assert.True(report.Figures["server bytes allocated per message stored"] > 0, report.ToTable());
        Assert.True(report.Figures["server thread-pool work items per message stored"] > 0, report.ToTable());
    }

    [Fact]
    public async Task Pairs_with_deletes_beside_them_deliver_every_message_exactly_once_and_count_the_deletes()
    {
        var report = await BenchRunner.RunAsync(Options("pairs", o =>
        {
            o.Users = 4;
            o.Rate = 100;
            o.DurationSeconds = 1;
            o.DeletesPerSecond = 10;
        }));
        AssertAllDeliveredOnce(report);
        Assert.True(report.Figures["messages deleted for everyone"] > 0, "no message was deleted:\n" + report.ToTable());
    }

    [Fact]
    public async Task Pairs_at_saturation_deliver_every_message_exactly_once()
    {
        var report = await BenchRunner.RunAsync(Options("pairs", o =>
        {
            o.Users = 4;
            o.Rate = null;
            o.Window = 2;
            o.DurationSeconds = 1;
        }));
        AssertAllDeliveredOnce(report);
        Assert.Null(report.OfferedRate);
    }

    [Fact]
    public async Task One_way_pairs_at_saturation_deliver_every_message_exactly_once()
    {
        var report = await BenchRunner.RunAsync(Options("pairs", o =>
        {
            o.Users = 2;
            o.Rate = null;
            o.Window = 4;
            o.DurationSeconds = 1;
            o.OneWay = true;
        }));
        AssertAllDeliveredOnce(report);
        Assert.Equal(1, report.Parameters["senders per pair"]);
    }

    [Fact]
    public async Task Group_delivers_every_message_to_every_other_member()
    {
        var report = await BenchRunner.RunAsync(Options("group", o =>
        {
            o.Users = 5;
            o.Senders = 2;
            o.Rate = 40;
            o.DurationSeconds = 1;
        }));
        AssertAllDeliveredOnce(report);
        Assert.Equal(report.Stored * 4, report.Expected);
    }

    [Fact]
    public async Task History_over_websocket_reads_back_every_stored_message_once_by_paging_and_by_sync()
    {
        var report = await BenchRunner.RunAsync(Options("history", o =>
        {
            o.Messages = 250;
            o.Chats = 3;
            o.PageSize = 20;
            o.Reads = 20;
            o.Concurrency = 2;
            o.Window = 4;
        }));
        AssertAllDeliveredOnce(report);
        Assert.Equal(250, report.Stored);
        Assert.Equal(500, report.Expected);
        Assert.Contains("history page at random, one reader", report.Timings!.Keys);
        Assert.Contains("sync page at random, one reader", report.Timings!.Keys);
        // Present; its value may be 0 here, since the server answers scrapes less than 300 ms apart
        // with the same page and this read phase is shorter than that.
        Assert.Contains("server bytes allocated per page read", report.Figures.Keys);
    }

    [Fact]
    public async Task History_over_rest_reads_back_every_stored_message_once()
    {
        var report = await BenchRunner.RunAsync(Options("history", o =>
        {
            o.Messages = 40;
            o.Chats = 2;
            o.PageSize = 15;
            o.Reads = 5;
            o.SendViaRest = true;
        }));
        AssertAllDeliveredOnce(report);
        Assert.Equal(40, report.Stored);
    }

    [Fact]
    public async Task Reconnect_with_since_delivers_everything_missed_exactly_once()
    {
        var report = await BenchRunner.RunAsync(Options("reconnect", o =>
        {
            o.Users = 4;
            o.Rate = 100;
            o.DurationSeconds = 1;
            o.OfflineMessages = 2;
        }));
        AssertAllDeliveredOnce(report);
        Assert.True(report.Figures["missed deliveries (owed at reconnect)"] >= 8, report.ToTable());
    }

    [Fact]
    public async Task Conns_in_process_opens_the_steps_and_keeps_them_open()
    {
        var report = await BenchRunner.RunAsync(Options("conns", o =>
        {
            o.Steps = [3, 6];
            o.Procs = 0;
            o.SettleSeconds = 0.2;
            o.HoldSeconds = 0.5;
        }));
        Assert.Equal([3, 6], report.Steps!.Select(s => s.Connections));
        Assert.All(report.Steps!, s => Assert.Equal(0, s.Failed));
        Assert.Equal(0, report.Lost);
        Assert.Equal(6, report.Delivered);
    }

    [Fact]
    public async Task Conns_spreads_sockets_over_child_processes_that_send_tokens_in_a_header()
    {
        var report = await BenchRunner.RunAsync(Options("conns", o =>
        {
            o.Steps = [4, 7];
            o.PerUser = 2;
            o.Procs = 2;
            o.WsTokenInHeader = true;
            o.SettleSeconds = 0.2;
            o.HoldSeconds = 0.5;
        }));
        Assert.Equal([4, 7], report.Steps!.Select(s => s.Connections));
        Assert.All(report.Steps!, s => Assert.Equal(0, s.Failed));
        Assert.Equal(0, report.Lost);
        Assert.Equal(7, report.Delivered);
    }
}
