using System.Globalization;
using System.Text.RegularExpressions;

namespace Parley.Bench.Infrastructure;

/// <summary>
/// The server's runtime counters, from the .NET runtime's meter that Parley serves at
/// <c>/metrics</c>: bytes allocated, garbage collections and their pauses, work items run by the
/// thread pool, and time spent in the JIT. Read before and after a phase, the difference divided by
/// the phase's messages or pages is the work each one cost in allocations and thread hops: figures
/// that hold still from run to run on a shared machine, where CPU time and latency do not. The JIT
/// time says whether the phase measured a server still warming up.
/// </summary>
public sealed partial class ServerRuntime
{
    public long AllocatedBytes { get; private init; }
    public long Gen0Collections { get; private init; }
    public long Gen1Collections { get; private init; }
    public long Gen2Collections { get; private init; }
    public double PauseSeconds { get; private init; }
    public long WorkItems { get; private init; }
    /// <summary>Time the JIT spent compiling: a fresh server keeps compiling (tiering up) for a
    /// while under load, and what it spends there is not yet what the server costs for good.</summary>
    public double JitSeconds { get; private init; }

    /// <summary>The counts between <paramref name="before"/> and this reading.</summary>
    public ServerRuntime Since(ServerRuntime before) => new()
    {
        AllocatedBytes = AllocatedBytes - before.AllocatedBytes,
        Gen0Collections = Gen0Collections - before.Gen0Collections,
        Gen1Collections = Gen1Collections - before.Gen1Collections,
        Gen2Collections = Gen2Collections - before.Gen2Collections,
        PauseSeconds = PauseSeconds - before.PauseSeconds,
        WorkItems = WorkItems - before.WorkItems,
        JitSeconds = JitSeconds - before.JitSeconds,
    };

    /// <summary>Reads the counters out of a Prometheus text page
    /// (<see cref="ApiClient.GetMetricsTextAsync"/>); null when there is no page or it lacks any of
    /// them (the runtime's meter is not exported there).</summary>
    public static ServerRuntime? Parse(string? metrics)
    {
        if (metrics is null) return null;
        var values = new Dictionary<string, double>();
        foreach (Match m in Sample().Matches(metrics))
        {
            var generation = m.Groups["gen"].Success ? "." + m.Groups["gen"].Value : "";
            values[m.Groups["name"].Value + generation] = double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
        }
        string[] needed =
        [
            "dotnet_gc_heap_total_allocated_bytes_total", "dotnet_gc_collections_total.gen0", "dotnet_gc_collections_total.gen1",
            "dotnet_gc_collections_total.gen2", "dotnet_gc_pause_time_seconds_total", "dotnet_thread_pool_work_item_count_total",
        ];
        if (!needed.All(values.ContainsKey)) return null;
        return new ServerRuntime
        {
            AllocatedBytes = (long)values[needed[0]],
            Gen0Collections = (long)values[needed[1]],
            Gen1Collections = (long)values[needed[2]],
            Gen2Collections = (long)values[needed[3]],
            PauseSeconds = values[needed[4]],
            WorkItems = (long)values[needed[5]],
            JitSeconds = values.GetValueOrDefault("dotnet_jit_compilation_time_seconds_total"),
        };
    }

    [GeneratedRegex("""^(?<name>dotnet_gc_heap_total_allocated_bytes_total|dotnet_gc_collections_total|dotnet_gc_pause_time_seconds_total|dotnet_thread_pool_work_item_count_total|dotnet_jit_compilation_time_seconds_total)\{[^}]*?(?:\bgc_heap_generation="(?<gen>gen[012])"[^}]*)?\} (?<value>[0-9.eE+-]+)""", RegexOptions.Multiline)]
    private static partial Regex Sample();
}
