using Parley.Bench.Infrastructure;

namespace Parley.Bench.Workloads;

/// <summary>Two users outside the measured load: one sends a message over REST and deletes it for
/// everyone, <c>--deletes-per-second</c> times a second, from before the warm-up to the end of the
/// run. It shows what deletes cost the load around them (on SQLite each one has the write-ahead
/// log emptied once the writer is idle).</summary>
internal sealed class BackgroundDeletes : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly Task _loop;
    private readonly BenchReport _report;
    private int _done;

    private BackgroundDeletes(BenchContext ctx, BenchUser sender, string chatId, BenchReport report)
    {
        _report = report;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(ctx.Cancel);
        _loop = RunAsync(ctx, sender, chatId, ctx.Options.DeletesPerSecond, _stop.Token);
    }

    public static async Task<BackgroundDeletes> StartAsync(BenchContext ctx, BenchReport report)
    {
        var index = ctx.Options.Users;
        var sender = await ctx.Api.CreateUserAsync(index, ctx.RunId, ctx.Cancel);
        var witness = await ctx.Api.CreateUserAsync(index + 1, ctx.RunId, ctx.Cancel);
        var chatId = await ctx.Api.CreateDirectChatAsync(sender, witness, ctx.Cancel);
        return new BackgroundDeletes(ctx, sender, chatId, report);
    }

    private async Task RunAsync(BenchContext ctx, BenchUser sender, string chatId, double perSecond, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1 / perSecond));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                await ctx.Api.SendAndDeleteAsync(sender, chatId, $"deleted {Guid.NewGuid():N}", stop);
                Interlocked.Increment(ref _done);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The run is over.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _report.Figures["messages deleted for everyone"] = _done;
        _stop.Dispose();
    }
}
