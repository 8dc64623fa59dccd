using Parley.Bench.Infrastructure;
using Parley.Bench.Workloads;

namespace Parley.Bench;

/// <summary>The public entry point: runs one workload against a running server and returns its
/// report. The command line (Program.cs) and the smoke tests both come through here.</summary>
public static class BenchRunner
{
    /// <param name="options">What to run; validated here (loopback only).</param>
    /// <param name="progress">Where the progress line goes (null: nowhere).</param>
    public static async Task<BenchReport> RunAsync(BenchOptions options, TextWriter? progress = null, CancellationToken cancellationToken = default)
    {
        options.Validate();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(options.TimeoutSeconds));
        var report = new BenchReport { Workload = options.Workload, Url = options.Url.ToString() };
        if (options.ServerPid is { } pid && !ProcStats.Exists(pid)) report.Notes.Add($"--server-pid {pid}: no such process; server figures left out");
        var maxHttp = Math.Max(options.SetupConcurrency, options.Concurrency) + 8;
        using var api = new ApiClient(options.Url, maxHttp, options.WsTokenInHeader);
        await using var monitor = new ProcessMonitor(options.ServerPid, () =>
        {
            lock (ChildHolder.LivePids) return ChildHolder.LivePids.ToArray();
        });
        var ctx = new BenchContext(options, api, ProgressLine.Create(options, progress), monitor, timeout.Token);
        try
        {
            switch (options.Workload)
            {
                case "pairs": await DeliveryWorkloads.PairsAsync(ctx, report); break;
                case "group": await DeliveryWorkloads.GroupAsync(ctx, report); break;
                case "conns": await ConnsWorkload.RunAsync(ctx, report); break;
                case "history": await HistoryWorkload.RunAsync(ctx, report); break;
                case "reconnect": await ReconnectWorkload.RunAsync(ctx, report); break;
                default: throw new ArgumentException($"unknown workload '{options.Workload}'");
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"the run passed its --timeout of {options.TimeoutSeconds:F0} s");
        }
        return report;
    }
}
