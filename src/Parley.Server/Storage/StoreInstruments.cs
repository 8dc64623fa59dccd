using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Parley.Server.Storage;

/// <summary>What the store's writers report, whatever the backend: commit latency and batch size
/// (meter "Parley.Store"), and a trace span per committed batch (activity source "Parley.Store").
/// Static, so a backend needs no extra dependency to report.</summary>
public static class StoreInstruments
{
    public const string Name = "Parley.Store";

    public static readonly ActivitySource Traces = new(Name);
    private static readonly Meter Meter = new(Name);

    private static readonly Histogram<double> CommitSeconds = Meter.CreateHistogram<double>("parley.store.commit.duration", "s",
        "Time to run and commit one write batch.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });

    private static readonly Histogram<long> BatchSize = Meter.CreateHistogram<long>("parley.store.commit.batch_size", "{operation}",
        "Write operations committed together.",
        advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512] });

    /// <summary>The stages of a write before and after its transaction, with finer low buckets than
    /// the commit's: at a steady rate a send spends well under a millisecond in each, and a tail in
    /// the end-to-end latency shows as the stage whose upper buckets fill.</summary>
    private static readonly double[] StageBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

    private static readonly Histogram<double> QueueSeconds = Meter.CreateHistogram<double>("parley.store.queue.duration", "s",
        "Time a write operation waited for the writer before its batch began.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StageBuckets });

    private static readonly Histogram<double> HandOverSeconds = Meter.CreateHistogram<double>("parley.store.handover.duration", "s",
        "Time from a batch's commit until its results and events are handed on (published, callers woken).",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StageBuckets });

    /// <summary>A batch began at <paramref name="started"/> with an operation queued at <paramref name="queuedAt"/>.</summary>
    public static void OperationWaited(long queuedAt, long started) =>
        QueueSeconds.Record(Stopwatch.GetElapsedTime(queuedAt, started).TotalSeconds);

    /// <summary>A batch committed at <paramref name="committedAt"/> is being handed on.</summary>
    public static void HandingOver(long committedAt) => HandOverSeconds.Record(Stopwatch.GetElapsedTime(committedAt).TotalSeconds);

    /// <summary>Starts timing a batch (and a span when traces are collected).</summary>
    public static long BatchStarting() => Stopwatch.GetTimestamp();

    public static void BatchCommitted(long started, int operations)
    {
        var elapsed = Stopwatch.GetElapsedTime(started);
        CommitSeconds.Record(elapsed.TotalSeconds);
        BatchSize.Record(operations);
        if (Traces.HasListeners())
        {
            using var span = Traces.StartActivity("store.commit", ActivityKind.Internal, default(ActivityContext), startTime: DateTimeOffset.UtcNow - elapsed);
            span?.SetTag("parley.store.batch_size", operations);
        }
    }
}
