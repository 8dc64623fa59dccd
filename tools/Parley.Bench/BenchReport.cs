using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Parley.Bench.Infrastructure;

namespace Parley.Bench;

/// <summary>The outcome of one run: what the issue asks every workload to report, plus sections
/// only some workloads fill (conns steps, history page timings, reconnect figures).</summary>
public sealed class BenchReport
{
    public string Workload { get; set; } = "";
    public DateTimeOffset StartedAt { get; set; } = DateTimeOffset.UtcNow;
    public string Url { get; set; } = "";
    public Dictionary<string, object?> Parameters { get; set; } = new();

    public int Users { get; set; }
    public double SetupSeconds { get; set; }
    /// <summary>Users registered and signed in per second during setup.</summary>
    public double UsersPerSecond { get; set; }
    /// <summary>Length of the measured phase (sending plus the drain).</summary>
    public double DurationSeconds { get; set; }

    public long Sent { get; set; }
    /// <summary>Sends the server confirmed (ack frame or REST 201).</summary>
    public long Stored { get; set; }
    public long SendErrors { get; set; }
    /// <summary>Sends whose connection died before the ack (fate unknown; not counted as lost).</summary>
    public long Unacked { get; set; }
    /// <summary>Sends still waiting for their ack (or still queued in the generator) when the drain ended:
    /// the server had not got to them. Not lost, but not delivered either.</summary>
    public long PendingAtEnd { get; set; }
    /// <summary>Deliveries owed: every confirmed message times its recipients.</summary>
    public long Expected { get; set; }
    /// <summary>Distinct messages received by recipients (a message to 999 members counts 999 times).</summary>
    public long Delivered { get; set; }
    public long Lost { get; set; }
    public long Duplicates { get; set; }
    public double? OfferedRate { get; set; }
    public double SendRate { get; set; }
    public double DeliveredPerSecond { get; set; }

    public LatencySummary? EndToEnd { get; set; }
    /// <summary>The seconds of the measured phase with the largest end-to-end latencies, slowest first.</summary>
    public IReadOnlyList<SlowSecond>? SlowestSeconds { get; set; }
    /// <summary>Seconds of the measured phase in which some message took over 5 ms end to end.</summary>
    public int? SecondsOver5Ms { get; set; }
    public LatencySummary? AckLatency { get; set; }
    public LatencySummary? SendLag { get; set; }
    public ResourceUse? Resources { get; set; }

    public List<ConnStep>? Steps { get; set; }
    public Dictionary<string, LatencySummary>? Timings { get; set; }
    /// <summary>Workload-specific single numbers (store rate, reconnect and catch-up seconds...).</summary>
    public Dictionary<string, double> Figures { get; set; } = new();
    public Dictionary<string, long> Frames { get; set; } = new();
    public Dictionary<string, long>? Errors { get; set; }
    public int Resumes { get; set; }
    public int UnexpectedCloses { get; set; }
    public List<string> Notes { get; set; } = [];

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    internal void FillFrom(DeliveryTracker tracker, IEnumerable<WsConnection> connections)
    {
        Sent = tracker.Sent;
        Stored = tracker.Stored;
        SendErrors = tracker.SendErrors;
        Unacked = tracker.Unacked;
        Expected = tracker.Expected;
        Delivered = tracker.UniqueDelivered;
        Duplicates += tracker.Duplicates;
        EndToEnd = tracker.EndToEnd.Count > 0 ? tracker.EndToEnd.Summary() : null;
        if (tracker.EndToEnd.Count > 0)
        {
            SlowestSeconds = tracker.EndToEndBySecond.Slowest(3);
            SecondsOver5Ms = tracker.EndToEndBySecond.SecondsAbove(5);
        }
        AckLatency = tracker.AckLatency.Count > 0 ? tracker.AckLatency.Summary() : null;
        SendLag = tracker.SendLag.Count > 0 ? tracker.SendLag.Summary() : null;
        foreach (var type in Enum.GetValues<FrameType>())
        {
            var n = tracker.Frames(type);
            if (n > 0) Frames[JsonNamingPolicy.CamelCase.ConvertName(type.ToString())] = n;
        }
        if (tracker.OwnEchoes > 0) Frames["ownEchoes"] = tracker.OwnEchoes;
        if (tracker.Foreign > 0) Frames["foreignMessages"] = tracker.Foreign;
        var errors = tracker.ErrorCounts();
        Errors = errors.Count > 0 ? new Dictionary<string, long>(errors) : null;
        foreach (var c in connections)
        {
            Resumes += c.Resumes;
            UnexpectedCloses += c.UnexpectedCloses;
            PendingAtEnd += c.PendingCount + c.Queued;
        }
    }

    /// <summary>The server's write transactions during the measured phase, and how many held its
    /// writer over 25, 50 and 100 ms (see <see cref="StoreTransactions"/>); nothing when either
    /// reading is missing.</summary>
    internal void AddStoreTransactions(StoreTransactions? before, StoreTransactions? after)
    {
        if (before is null || after is null) return;
        var phase = after.Since(before);
        Figures["store write transactions"] = phase.Total;
        foreach (var t in StoreTransactions.Thresholds)
        {
            Figures[$"store write transactions over {t * 1000:0} ms"] = phase.Over(t);
        }
    }

    /// <summary>What the server's runtime did for each unit of work in the measured phase: bytes
    /// allocated, thread-pool work items run, and the collections and their pauses (see
    /// <see cref="ServerRuntime"/>); nothing when either reading is missing.</summary>
    internal void AddServerRuntime(ServerRuntime? before, ServerRuntime? after, string unit, long count)
    {
        if (before is null || after is null || count <= 0) return;
        var phase = after.Since(before);
        Figures[$"server bytes allocated per {unit}"] = Math.Round((double)phase.AllocatedBytes / count);
        Figures[$"server thread-pool work items per {unit}"] = Math.Round((double)phase.WorkItems / count, 2);
        Figures["server collections, gen0"] = phase.Gen0Collections;
        Figures["server collections, gen1"] = phase.Gen1Collections;
        Figures["server collections, gen2"] = phase.Gen2Collections;
        Figures["server collection pauses (ms)"] = Math.Round(phase.PauseSeconds * 1000, 1);
        Figures["server JIT compilation (ms)"] = Math.Round(phase.JitSeconds * 1000, 1);
    }

    /// <summary>CPU per unit of work: far steadier than throughput on a shared machine, and what
    /// capacity can be projected from (cores / (server + generator CPU per message)).</summary>
    internal void AddCpuCost(string unit, long count)
    {
        if (Resources is null || count <= 0) return;
        if (Resources.Server is { } s) Figures[$"server CPU per {unit} (µs)"] = Math.Round(s.CpuSeconds * 1e6 / count, 1);
        Figures[$"generator CPU per {unit} (µs)"] = Math.Round(Resources.GeneratorCpuSeconds * 1e6 / count, 1);
    }

    /// <summary>Adds a note when the generator, not the server, may have been the limit.</summary>
    internal void NoteSaturation()
    {
        if (Resources is null) return;
        var cores = Resources.Cores * 100.0;
        var gen = Resources.GeneratorCpuPercent;
        var server = Resources.Server?.CpuPercent;
        if (server is { } s && s + gen > cores * 0.9)
        {
            Notes.Add($"the machine was CPU-bound: server {s:F0}% + generator {gen:F0}% of {cores:F0}%; the generator's share is CPU the server did not get");
        }
        if (Resources.Server?.RunQueueWaitPercent is { } wait && wait > 25)
        {
            Notes.Add($"the server's threads waited for a core {wait:F0}% of the time (runnable, not running): it was CPU-starved, not idle");
        }
        if (Resources.OtherProcessesCpuPercent is { } other && other > 20)
        {
            Notes.Add($"other processes used {other:F0}% CPU during the run: the machine was shared, so these figures understate what server and generator can do alone");
        }
        if (gen > 90) Notes.Add($"the generator used {gen:F0}% CPU (about one core or more): its own limits may show in these figures");
        if (PendingAtEnd > 0) Notes.Add($"{PendingAtEnd:N0} sends were still unconfirmed when the drain ended: the server fell behind the offered rate");
        if (SendLag is { } lag && lag.P99Ms > 50) Notes.Add($"the generator fell behind its send schedule (send lag p99 {lag.P99Ms:F1} ms): the offered rate was not fully offered");
    }

    public string ToTable()
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"== Parley.Bench {Workload} against {Url} ({StartedAt:u})");
        if (Parameters.Count > 0)
        {
            sb.AppendLine("parameters: " + string.Join(", ", Parameters.Select(p => $"{p.Key}={Format(p.Value)}")));
        }
        var rows = new List<(string, string)>();
        void Row(string name, string value) => rows.Add((name, value));
        if (Users > 0) Row("users", $"{Users:N0} (setup {SetupSeconds:F1} s, {UsersPerSecond:N0} users/s)");
        if (Workload == "history")
        {
            Row("stored", $"{Stored:N0} of {Sent:N0} sent ({SendRate:N0} msg/s), {SendErrors:N0} errors");
            Row("read back", $"{Delivered:N0} of {Expected:N0} expected (history walk + sync walk)");
            Row("lost / duplicated", $"{Lost:N0} / {Duplicates:N0}");
            Row("read phase", $"{DurationSeconds:F2} s");
        }
        else if (Sent > 0 || Stored > 0)
        {
            Row("duration", $"{DurationSeconds:F2} s");
            Row("offered rate", OfferedRate is { } r ? $"{r:N0} msg/s" : "max (closed loop)");
            Row("sent / stored", $"{Sent:N0} / {Stored:N0} ({SendRate:N0} msg/s sent)");
            Row("send errors / unacked / pending at end", $"{SendErrors:N0} / {Unacked:N0} / {PendingAtEnd:N0}");
            Row("delivered", $"{Delivered:N0} of {Expected:N0} expected");
            Row("delivered per second", $"{DeliveredPerSecond:N0}");
            Row("lost / duplicated", $"{Lost:N0} / {Duplicates:N0}");
        }
        if (EndToEnd is { } e) Row("end-to-end latency", Latency(e));
        if (SlowestSeconds is { Count: > 0 } slowest)
        {
            Row("slowest seconds (largest end-to-end)", string.Join(", ", slowest.Select(s => $"{s.Second} s: {s.MaxMs:F1} ms")) +
                $"; {SecondsOver5Ms} s with one over 5 ms");
        }
        if (AckLatency is { } a) Row("ack latency", Latency(a));
        if (SendLag is { } l) Row("generator send lag", Latency(l));
        if (Timings is not null)
        {
            foreach (var (name, t) in Timings) Row(name, Latency(t));
        }
        foreach (var (name, value) in Figures) Row(name, value.ToString(Math.Abs(value) >= 100 ? "N0" : "0.###", CultureInfo.InvariantCulture));
        if (Resources is { } res)
        {
            if (res.Server is { } s)
            {
                Row("server CPU", $"{s.CpuPercent:F0}% of one core ({s.CpuSeconds:F1} s over {res.Seconds:F1} s)"
                    + (s.RunQueueWaitPercent is { } wait ? $"; waiting for a core {wait:F0}%" : ""));
                Row("server RSS", $"peak {s.PeakRssMiB:F0} MiB, start {s.StartRssMiB:F0} MiB, end {s.EndRssMiB:F0} MiB (lifetime peak {s.LifetimePeakRssMiB:F0} MiB)");
            }
            else
            {
                Row("server CPU / RSS", "not measured (no --server-pid)");
            }
            Row("generator CPU", $"{res.GeneratorCpuPercent:F0}% of one core ({res.GeneratorCpuSeconds:F1} s), {res.Cores} cores");
            if (res.OtherProcessesCpuPercent is { } other) Row("other processes' CPU", $"{other:F0}% of one core (load average {res.LoadAverageStart:F1} -> {res.LoadAverageEnd:F1})");
        }
        if (Resumes > 0 || UnexpectedCloses > 0) Row("server-closed sockets / resumes", $"{UnexpectedCloses:N0} / {Resumes:N0}");
        if (Frames.Count > 0) Row("frames received", string.Join(", ", Frames.Select(f => $"{f.Key} {f.Value:N0}")));
        if (Errors is not null) Row("errors", string.Join(", ", Errors.Select(f => $"{f.Key}: {f.Value:N0}")));
        var width = rows.Count == 0 ? 0 : rows.Max(r => r.Item1.Length);
        foreach (var (name, value) in rows) sb.AppendLine(CultureInfo.InvariantCulture, $"  {name.PadRight(width)}  {value}");
        if (Steps is { Count: > 0 })
        {
            sb.AppendLine();
            sb.AppendLine("  connections   opened/s  failed  server RSS MiB  KiB/conn (over baseline)  KiB/conn (this step)  KiB/conn (total RSS)  server fds  gen CPU%  srv CPU%");
            foreach (var s in Steps)
            {
                sb.AppendLine(CultureInfo.InvariantCulture,
                    $"  {s.Connections,11:N0}  {s.OpenedPerSecond,9:N0}  {s.Failed,6:N0}  {s.ServerRssMiB,14:F1}  {s.KibPerConnectionDelta,23:F1}  {s.KibPerConnectionMarginal,20:F1}  {s.KibPerConnectionTotal,20:F1}  {s.ServerOpenFiles,10}  {s.GeneratorCpuPercent,8:F0}  {s.ServerCpuPercent,8:F0}");
            }
        }
        foreach (var note in Notes) sb.AppendLine("  note: " + note);
        return sb.ToString();

        static string Latency(LatencySummary s) =>
            $"p50 {s.P50Ms:F2} ms  p95 {s.P95Ms:F2} ms  p99 {s.P99Ms:F2} ms  max {s.MaxMs:F2} ms  (n={s.Count:N0})";
        static string Format(object? v) => v switch
        {
            null => "max",
            double d => d.ToString("0.###", CultureInfo.InvariantCulture),
            int[] a => string.Join(",", a),
            _ => Convert.ToString(v, CultureInfo.InvariantCulture) ?? "",
        };
    }
}

/// <summary>One step of the conns workload: connections held after it, and what they cost the server.</summary>
public sealed record ConnStep(
    int Connections,
    int Opened,
    int Failed,
    double Seconds,
    double OpenedPerSecond,
    double ServerRssMiB,
    double KibPerConnectionDelta,
    double KibPerConnectionTotal,
    double KibPerConnectionMarginal,
    int? ServerOpenFiles,
    double GeneratorCpuPercent,
    double ServerCpuPercent,
    string? FirstError);
