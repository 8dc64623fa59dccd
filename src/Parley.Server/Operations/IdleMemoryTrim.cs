using System.Diagnostics;
using Microsoft.Extensions.Options;
using Parley.Server.Configuration;

namespace Parley.Server.Operations;

/// <summary>The "Parley:Memory" section.</summary>
public sealed class MemoryOptions
{
    /// <summary>Seconds the server must have been quiet (under 1 MiB allocated a second) before it
    /// gives back what a busy spell left the collector holding; 0 never does.</summary>
    public int TrimAfterQuietSeconds { get; set; } = 2;
    /// <summary>How much more memory the collector must hold than after the last trim (or than at
    /// its lowest since) for a quiet spell to trim it.</summary>
    public int TrimGrowthMiB { get; set; } = 64;

    public const int MaxQuietSeconds = 3600;

    public string? Problem() =>
        TrimAfterQuietSeconds is < 0 or > MaxQuietSeconds
            ? $"Parley:Memory:TrimAfterQuietSeconds must be between 0 (never) and {MaxQuietSeconds} (it is {TrimAfterQuietSeconds})."
            : TrimGrowthMiB < 1
                ? $"Parley:Memory:TrimGrowthMiB must be at least 1 (it is {TrimGrowthMiB})."
                : null;
}

/// <summary>
/// Gives memory back once a busy spell is over. The collector keeps what a burst made it commit
/// (free regions held for the next allocations, gaps between survivors) until its next collection,
/// and an idle server runs none: 19,000 sockets opened in a rush left it holding 70–110 MiB it no
/// longer used, a third of what the sockets themselves take. Once allocation has stayed under
/// 1 MiB a second for <see cref="MemoryOptions.TrimAfterQuietSeconds"/> and the collector holds
/// <see cref="MemoryOptions.TrimGrowthMiB"/> more than after the last trim, one blocking,
/// compacting collection hands the surplus back to the operating system. It pauses the process
/// for about 1 ms per MiB of live heap (0.3 s with 19,000 sockets), which is why it waits for quiet:
/// under steady load it never runs, and the growth it needs keeps it from repeating while idle.
/// </summary>
internal sealed partial class IdleMemoryTrim(IOptions<ParleyOptions> options, ParleyMetrics metrics, ILogger<IdleMemoryTrim> logger)
    : BackgroundService
{
    private const long QuietBytesPerSecond = 1 << 20;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value.Memory;
        if (settings.TrimAfterQuietSeconds == 0) return;
        var growth = (long)settings.TrimGrowthMiB << 20;
        // The collector's figures are those of its last collection; between collections they only grow.
        var low = GC.GetGCMemoryInfo().TotalCommittedBytes;
        var allocated = GC.GetTotalAllocatedBytes();
        var quietSeconds = 0;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var now = GC.GetTotalAllocatedBytes();
            quietSeconds = now - allocated < QuietBytesPerSecond ? quietSeconds + 1 : 0;
            allocated = now;
            var committed = GC.GetGCMemoryInfo().TotalCommittedBytes;
            low = Math.Min(low, committed);
            if (quietSeconds < settings.TrimAfterQuietSeconds || committed - low < growth) continue;

            // Resident memory, not the collector's figures, says what the operating system got back.
            var residentBefore = Environment.WorkingSet;
            var pause = Stopwatch.StartNew();
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            pause.Stop();
            low = GC.GetGCMemoryInfo().TotalCommittedBytes;
            allocated = GC.GetTotalAllocatedBytes();
            quietSeconds = 0;
            metrics.MemoryTrimmed();
            Trimmed(logger, residentBefore >> 20, Environment.WorkingSet >> 20, pause.ElapsedMilliseconds);
        }
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information,
        Message = "Quiet after a busy spell: the collector gave memory back, resident {BeforeMiB} MiB before and {AfterMiB} MiB after, in a pause of {PauseMs} ms")]
    private static partial void Trimmed(ILogger logger, long beforeMiB, long afterMiB, long pauseMs);
}
