using System.Diagnostics;

namespace Parley.Bench.Infrastructure;

/// <summary>A lock-free latency histogram in microseconds with log-linear buckets (1/64 relative
/// precision, i.e. under 1.6% error), exact count, sum and max. Safe to record from many threads.</summary>
public sealed class Histogram
{
    private const int SubBits = 6;
    private const int SubCount = 1 << SubBits;
    private readonly long[] _buckets = new long[(64 - SubBits + 1) * SubCount];
    private long _count;
    private long _sum;
    private long _max;

    public long Count => Interlocked.Read(ref _count);

    public static long TicksToMicros(long ticks) => ticks * 1_000_000 / Stopwatch.Frequency;

    public void RecordTicks(long stopwatchTicks) => Record(Math.Max(0, TicksToMicros(stopwatchTicks)));

    public void Record(long micros)
    {
        if (micros < 0) micros = 0;
        Interlocked.Increment(ref _buckets[Index(micros)]);
        Interlocked.Increment(ref _count);
        Interlocked.Add(ref _sum, micros);
        var max = Volatile.Read(ref _max);
        while (micros > max)
        {
            var seen = Interlocked.CompareExchange(ref _max, micros, max);
            if (seen == max) break;
            max = seen;
        }
    }

    private static int Index(long v)
    {
        if (v < SubCount) return (int)v;
        var msb = 63 - (int)long.LeadingZeroCount(v);
        var shift = msb - SubBits;
        return (shift + 1) * SubCount + (int)((v >> (int)shift) & (SubCount - 1));
    }

    /// <summary>The largest value a bucket holds (values are reported at their bucket's upper bound,
    /// so percentiles are never flattering).</summary>
    private static long UpperBound(int index)
    {
        if (index < SubCount) return index;
        var shift = index / SubCount - 1;
        var sub = index % SubCount;
        return ((long)(SubCount + sub) << shift) + ((1L << shift) - 1);
    }

    public void Add(Histogram other)
    {
        for (var i = 0; i < _buckets.Length; i++)
        {
            var n = Interlocked.Read(ref other._buckets[i]);
            if (n != 0) Interlocked.Add(ref _buckets[i], n);
        }
        Interlocked.Add(ref _count, other.Count);
        Interlocked.Add(ref _sum, Interlocked.Read(ref other._sum));
        var otherMax = Interlocked.Read(ref other._max);
        if (otherMax > Interlocked.Read(ref _max)) Interlocked.Exchange(ref _max, otherMax);
    }

    public long ValueAt(double percentile)
    {
        var count = Count;
        if (count == 0) return 0;
        var rank = (long)Math.Ceiling(percentile / 100.0 * count);
        rank = Math.Clamp(rank, 1, count);
        long seen = 0;
        for (var i = 0; i < _buckets.Length; i++)
        {
            seen += Interlocked.Read(ref _buckets[i]);
            if (seen >= rank) return Math.Min(UpperBound(i), Interlocked.Read(ref _max));
        }
        return Interlocked.Read(ref _max);
    }

    public LatencySummary Summary()
    {
        var count = Count;
        return new LatencySummary(
            count,
            count == 0 ? 0 : Interlocked.Read(ref _sum) / 1000.0 / count,
            ValueAt(50) / 1000.0,
            ValueAt(95) / 1000.0,
            ValueAt(99) / 1000.0,
            Interlocked.Read(ref _max) / 1000.0);
    }
}

/// <summary>Latency figures in milliseconds.</summary>
public sealed record LatencySummary(long Count, double MeanMs, double P50Ms, double P95Ms, double P99Ms, double MaxMs);
