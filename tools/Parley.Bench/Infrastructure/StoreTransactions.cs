using System.Globalization;
using System.Text.RegularExpressions;

namespace Parley.Bench.Infrastructure;

/// <summary>
/// The server's write transactions by how long each held its writer, from the histogram Parley
/// serves at <c>/metrics</c> (<c>parley_store_commit_duration_seconds</c>). Read before and after a
/// phase, the difference says how many of the phase's transactions took over 25, 50 and 100 ms: a
/// transaction that long holds every send queued behind it, so it is where a tail in the
/// end-to-end latency starts in the store rather than in a socket or the generator.
/// </summary>
public sealed partial class StoreTransactions
{
    /// <summary>The thresholds reported, in seconds (bucket bounds of the server's histogram).</summary>
    public static readonly double[] Thresholds = [0.025, 0.05, 0.1];

    private StoreTransactions(long total, Dictionary<double, long> atMost)
    {
        Total = total;
        _atMost = atMost;
    }

    private readonly Dictionary<double, long> _atMost;

    /// <summary>Transactions committed (or failed) since the server started.</summary>
    public long Total { get; }

    /// <summary>Of <see cref="Total"/>, those that took longer than <paramref name="seconds"/> (one of <see cref="Thresholds"/>).</summary>
    public long Over(double seconds) => Total - _atMost[seconds];

    /// <summary>The transactions between <paramref name="before"/> and this reading.</summary>
    public StoreTransactions Since(StoreTransactions before) =>
        new(Total - before.Total, Thresholds.ToDictionary(t => t, t => _atMost[t] - before._atMost[t]));

    /// <summary>Reads the histogram out of a Prometheus text page
    /// (<see cref="ApiClient.GetMetricsTextAsync"/>); null when there is no page (metrics turned off,
    /// kept to another port, or another server), no such histogram, or one of the thresholds missing.</summary>
    public static StoreTransactions? Parse(string? metrics)
    {
        if (metrics is null) return null;
        var buckets = new Dictionary<double, long>();
        foreach (Match m in Bucket().Matches(metrics))
        {
            var bound = m.Groups["le"].Value == "+Inf" ? double.PositiveInfinity : double.Parse(m.Groups["le"].Value, CultureInfo.InvariantCulture);
            buckets[bound] = long.Parse(m.Groups["count"].Value, CultureInfo.InvariantCulture);
        }
        if (!buckets.TryGetValue(double.PositiveInfinity, out var total) || !Thresholds.All(buckets.ContainsKey)) return null;
        return new StoreTransactions(total, Thresholds.ToDictionary(t => t, t => buckets[t]));
    }

    [GeneratedRegex("""^parley_store_commit_duration_seconds_bucket\{[^}]*\ble="(?<le>[^"]+)"[^}]*\} (?<count>\d+)""", RegexOptions.Multiline)]
    private static partial Regex Bucket();
}
