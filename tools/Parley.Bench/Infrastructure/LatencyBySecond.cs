using System.Diagnostics;

namespace Parley.Bench.Infrastructure;

/// <summary>The largest latency seen in each second of a run, by when it was measured. A p99 over
/// a 20 s run is set by the slowest 1% of messages, which one stall of a fifth of a second can hold
/// on its own; these say whether the tail is one stall or spread over the run.</summary>
public sealed class LatencyBySecond
{
    private const int MaxSeconds = 3600;
    private readonly long[] _maxMicros = new long[MaxSeconds];
    private readonly long _origin = Stopwatch.GetTimestamp();
    private readonly DateTimeOffset _originTime = DateTimeOffset.UtcNow;

    public void Record(long now, long micros)
    {
        var second = (now - _origin) / Stopwatch.Frequency;
        if (second < 0 || second >= MaxSeconds) return;
        var max = Volatile.Read(ref _maxMicros[second]);
        while (micros > max)
        {
            var seen = Interlocked.CompareExchange(ref _maxMicros[second], micros, max);
            if (seen == max) break;
            max = seen;
        }
    }

    /// <summary>The <paramref name="count"/> seconds with the largest maxima, slowest first.</summary>
    public IReadOnlyList<SlowSecond> Slowest(int count) =>
        [.. _maxMicros.Select((micros, second) => new SlowSecond(second, _originTime.AddSeconds(second), micros / 1000.0))
            .Where(s => s.MaxMs > 0)
            .OrderByDescending(s => s.MaxMs)
            .Take(count)];

    /// <summary>How many seconds held a latency above <paramref name="thresholdMs"/>.</summary>
    public int SecondsAbove(double thresholdMs) => _maxMicros.Count(m => m / 1000.0 > thresholdMs);
}

/// <summary>A second of the run (from the start of measuring, and when it began) and its largest
/// latency: the time lines it up with the server's log.</summary>
public sealed record SlowSecond(int Second, DateTimeOffset At, double MaxMs);
