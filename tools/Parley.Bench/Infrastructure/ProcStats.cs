using System.Diagnostics;
using System.Globalization;

namespace Parley.Bench.Infrastructure;

/// <summary>Reads a process's CPU time and memory from /proc (Linux).</summary>
public static class ProcStats
{
    /// <summary>/proc reports CPU times in USER_HZ, which the kernel fixes at 100 on every mainstream architecture.</summary>
    private const double TicksPerSecond = 100;

    /// <summary>User + system CPU seconds of the process, or null when it cannot be read.</summary>
    public static double? CpuSeconds(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) is in parentheses and may contain spaces: parse after the last ')'.
            var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // rest[0] is field 3 (state); utime is field 14, stime field 15.
            var utime = long.Parse(rest[11], CultureInfo.InvariantCulture);
            var stime = long.Parse(rest[12], CultureInfo.InvariantCulture);
            return (utime + stime) / TicksPerSecond;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>A field of /proc/PID/status in KiB (VmRSS, VmHWM, ...), or null.</summary>
    public static long? StatusKib(int pid, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (!line.StartsWith(field, StringComparison.Ordinal) || line.Length <= field.Length || line[field.Length] != ':') continue;
                var value = line[(field.Length + 1)..].Trim();
                var space = value.IndexOf(' ');
                return long.Parse(space > 0 ? value[..space] : value, CultureInfo.InvariantCulture);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
        }
        return null;
    }

    /// <summary>Seconds the process's threads spent runnable but waiting for a core (summed over
    /// its live threads, from /proc/PID/task/*/schedstat): high when other processes crowd it out.</summary>
    public static double? RunQueueWaitSeconds(int pid)
    {
        try
        {
            long total = 0;
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                try
                {
                    var f = File.ReadAllText(Path.Combine(task, "schedstat")).Split(' ');
                    total += long.Parse(f[1], CultureInfo.InvariantCulture);
                }
                catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException)
                {
                    // The thread ended meanwhile.
                }
            }
            return total / 1e9;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static int? OpenFiles(int pid)
    {
        try
        {
            return Directory.GetFiles($"/proc/{pid}/fd").Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static bool Exists(int pid) => Directory.Exists($"/proc/{pid}");

    /// <summary>Busy CPU seconds of the whole machine (all cores, every process), from /proc/stat.</summary>
    public static double? MachineBusySeconds()
    {
        try
        {
            var line = File.ReadLines("/proc/stat").First();
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            // cpu user nice system idle iowait irq softirq steal ...
            long busy = 0;
            for (var i = 1; i < f.Length && i <= 8; i++)
            {
                if (i is 4 or 5) continue; // idle, iowait
                busy += long.Parse(f[i], CultureInfo.InvariantCulture);
            }
            return busy / TicksPerSecond;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>The 1-minute load average (runnable processes), from /proc/loadavg.</summary>
    public static double? LoadAverage()
    {
        try
        {
            return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }
}

/// <summary>Samples processes twice a second: CPU use over a window, current and peak RSS.
/// Used for the server (<c>--server-pid</c>) and for the generator itself plus its children.</summary>
public sealed class ProcessMonitor : IAsyncDisposable
{
    private readonly int? _serverPid;
    private readonly Func<IReadOnlyList<int>> _childPids;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Lock _gate = new();
    private readonly Dictionary<int, double> _childCpuLast = new();
    private double _childCpuTotal;

    private Window? _window;

    public ProcessMonitor(int? serverPid, Func<IReadOnlyList<int>>? childPids = null)
    {
        _serverPid = serverPid is { } pid && ProcStats.Exists(pid) ? pid : null;
        _childPids = childPids ?? (() => []);
        _loop = Task.Run(LoopAsync);
    }

    public bool HasServer => _serverPid is not null;
    public long? ServerRssKib => _serverPid is { } pid ? ProcStats.StatusKib(pid, "VmRSS") : null;
    public int? ServerPid => _serverPid;

    /// <summary>Generator CPU seconds: this process plus every child it has had.</summary>
    public double GeneratorCpuSeconds()
    {
        var own = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        lock (_gate)
        {
            foreach (var pid in _childPids())
            {
                if (ProcStats.CpuSeconds(pid) is { } cpu)
                {
                    _childCpuLast.TryGetValue(pid, out var last);
                    if (cpu > last)
                    {
                        _childCpuTotal += cpu - last;
                        _childCpuLast[pid] = cpu;
                    }
                }
            }
            return own + _childCpuTotal;
        }
    }

    /// <summary>Starts a measurement window: CPU is averaged over it, RSS peaks are taken within it.</summary>
    public Window StartWindow()
    {
        var w = new Window(this);
        lock (_gate) _window = w;
        return w;
    }

    private async Task LoopAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                await Task.Delay(250, _stop.Token);
                Window? w;
                lock (_gate) w = _window;
                w?.Sample();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }

    public sealed class Window
    {
        private readonly ProcessMonitor _owner;
        private readonly long _start = Stopwatch.GetTimestamp();
        private readonly double? _serverCpuStart;
        private readonly double? _serverWaitStart;
        private readonly double _genCpuStart;
        private readonly double? _machineStart = ProcStats.MachineBusySeconds();
        private readonly double? _loadStart = ProcStats.LoadAverage();
        private long _serverPeakRss;
        private long _serverStartRss;
        // For the progress line: CPU over the last second or so.
        private long _lastTs;
        private double? _lastServerCpu;
        private double _lastGenCpu;
        public double RecentServerCpuPercent { get; private set; }
        public double RecentGeneratorCpuPercent { get; private set; }

        internal Window(ProcessMonitor owner)
        {
            _owner = owner;
            _serverCpuStart = owner._serverPid is { } pid ? ProcStats.CpuSeconds(pid) : null;
            _serverWaitStart = owner._serverPid is { } p2 ? ProcStats.RunQueueWaitSeconds(p2) : null;
            _genCpuStart = owner.GeneratorCpuSeconds();
            _serverStartRss = owner.ServerRssKib ?? 0;
            _serverPeakRss = _serverStartRss;
            _lastTs = _start;
            _lastServerCpu = _serverCpuStart;
            _lastGenCpu = _genCpuStart;
        }

        internal void Sample()
        {
            var now = Stopwatch.GetTimestamp();
            var rss = _owner.ServerRssKib;
            if (rss is { } r && r > Interlocked.Read(ref _serverPeakRss)) Interlocked.Exchange(ref _serverPeakRss, r);
            var elapsed = Stopwatch.GetElapsedTime(_lastTs, now).TotalSeconds;
            if (elapsed < 0.9) return;
            var serverCpu = _owner._serverPid is { } pid ? ProcStats.CpuSeconds(pid) : null;
            var genCpu = _owner.GeneratorCpuSeconds();
            if (serverCpu is { } s && _lastServerCpu is { } ls) RecentServerCpuPercent = (s - ls) / elapsed * 100;
            RecentGeneratorCpuPercent = (genCpu - _lastGenCpu) / elapsed * 100;
            _lastTs = now;
            _lastServerCpu = serverCpu;
            _lastGenCpu = genCpu;
        }

        /// <summary>Ends the window: average CPU percentages (100 = one core) and RSS figures.</summary>
        public ResourceUse Finish()
        {
            Sample();
            var seconds = Stopwatch.GetElapsedTime(_start).TotalSeconds;
            var genCpu = _owner.GeneratorCpuSeconds() - _genCpuStart;
            ServerUse? server = null;
            if (_owner._serverPid is { } pid && _serverCpuStart is { } start && ProcStats.CpuSeconds(pid) is { } end)
            {
                var rss = ProcStats.StatusKib(pid, "VmRSS") ?? 0;
                server = new ServerUse(
                    pid,
                    Math.Round((end - start) / seconds * 100, 1),
                    Math.Round(end - start, 2),
                    Math.Max(Interlocked.Read(ref _serverPeakRss), rss) / 1024.0,
                    rss / 1024.0,
                    _serverStartRss / 1024.0,
                    (ProcStats.StatusKib(pid, "VmHWM") ?? 0) / 1024.0,
                    _serverWaitStart is { } w0 && ProcStats.RunQueueWaitSeconds(pid) is { } w1 ? Math.Round(Math.Max(0, w1 - w0) / seconds * 100, 1) : null);
            }
            double? others = null;
            if (_machineStart is { } m0 && ProcStats.MachineBusySeconds() is { } m1)
            {
                // Everything else on the machine: other users' builds and tests compete for the same cores.
                others = Math.Round(Math.Max(0, (m1 - m0 - genCpu - (server?.CpuSeconds ?? 0)) / seconds * 100), 1);
            }
            return new ResourceUse(
                Math.Round(seconds, 2),
                Math.Round(genCpu / seconds * 100, 1),
                Math.Round(genCpu, 2),
                Environment.ProcessorCount,
                server,
                others,
                _loadStart,
                ProcStats.LoadAverage());
        }
    }
}

/// <summary>CPU is in percent of one core (a 2-core machine tops out at 200).</summary>
/// <summary><paramref name="OtherProcessesCpuPercent"/>: CPU used by every other process on the machine during the window.</summary>
public sealed record ResourceUse(double Seconds, double GeneratorCpuPercent, double GeneratorCpuSeconds, int Cores, ServerUse? Server,
    double? OtherProcessesCpuPercent = null, double? LoadAverageStart = null, double? LoadAverageEnd = null);

/// <summary><paramref name="RunQueueWaitPercent"/>: time the server's threads were ready to run but
/// waited for a core, in percent of the window (100 = one thread waiting all the time).</summary>
public sealed record ServerUse(int Pid, double CpuPercent, double CpuSeconds, double PeakRssMiB, double EndRssMiB, double StartRssMiB, double LifetimePeakRssMiB,
    double? RunQueueWaitPercent = null);
