using System.Diagnostics;
using System.Globalization;
using Parley.Bench.Infrastructure;

namespace Parley.Bench.Workloads;

/// <summary>conns: idle authenticated WebSockets opened in steps (1k, 5k, 10k, 19k...) and held.
/// Per step: the setup rate, and the server's RSS per connection. A process may hold at most
/// 20,000 open files here, so above 8,000 sockets the generator spreads them over child copies of
/// itself (<c>--procs</c>), each holding a share.</summary>
internal static class ConnsWorkload
{
    public const int SocketsPerProcess = 8000;

    public static async Task RunAsync(BenchContext ctx, BenchReport report)
    {
        var o = ctx.Options;
        var max = o.Steps[^1];
        var procs = o.Procs ?? (max > SocketsPerProcess ? (max + SocketsPerProcess - 1) / SocketsPerProcess : 0);
        report.Parameters["steps"] = o.Steps;
        report.Parameters["perUser"] = o.PerUser;
        report.Parameters["procs"] = procs;
        report.Parameters["connectConcurrency"] = o.ConnectConcurrency;
        report.Parameters["settle"] = o.SettleSeconds;
        report.Parameters["hold"] = o.HoldSeconds;

        var users = await ctx.CreateUsersAsync((max + o.PerUser - 1) / o.PerUser, report);
        // Slot j is the j-th connection; holder k owns slots k, k+P, k+2P...
        var slots = Enumerable.Range(0, max).Select(j => users[j / o.PerUser].AccessToken).ToArray();
        var holderCount = Math.Max(1, procs);
        var holders = new List<IConnHolder>();
        try
        {
            for (var k = 0; k < holderCount; k++)
            {
                var mine = slots.Where((_, j) => j % holderCount == k).ToArray();
                holders.Add(procs == 0
                    ? new InProcessHolder(ctx.Api, mine, o.ConnectConcurrency)
                    : await ChildHolder.StartAsync(ctx, mine, k, holderCount));
            }
            ctx.Monitor.StartWindow();
            await Task.Delay(TimeSpan.FromSeconds(o.SettleSeconds), ctx.Cancel);
            var baseline = ctx.Monitor.ServerRssKib;
            if (baseline is { } b) report.Figures["server RSS before connecting (MiB)"] = Math.Round(b / 1024.0, 1);
            var steps = new List<ConnStep>();
            report.Steps = steps;
            var previous = 0;
            var previousRss = baseline;
            var overall = ctx.Monitor.StartWindow();
            foreach (var step in o.Steps)
            {
                var window = ctx.Monitor.StartWindow();
                var started = Stopwatch.GetTimestamp();
                var targets = holders.Select((_, k) => (step - k + holderCount - 1) / holderCount).ToArray();
                StepResult[] results;
                await using (ctx.Progress.Every(() => $"step {step:N0}: {holders.Sum(h => h.OpenNow):N0} open  srv CPU {window.RecentServerCpuPercent:F0}%  gen CPU {window.RecentGeneratorCpuPercent:F0}%"))
                {
                    results = await Task.WhenAll(holders.Select((h, k) => h.OpenToAsync(targets[k])));
                }
                var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                var use = window.Finish();
                var open = results.Sum(r => r.Open);
                var failed = results.Sum(r => r.Failed);
                await Task.Delay(TimeSpan.FromSeconds(o.SettleSeconds), ctx.Cancel);
                var rss = ctx.Monitor.ServerRssKib;
                var fds = ctx.Monitor.ServerPid is { } pid ? ProcStats.OpenFiles(pid) : null;
                var opened = open - previous;
                var result = new ConnStep(
                    open, opened, failed, Math.Round(seconds, 2),
                    Math.Round(opened / Math.Max(seconds, 1e-6), 1),
                    Math.Round((rss ?? 0) / 1024.0, 1),
                    rss is { } r && baseline is { } b0 && open > 0 ? Math.Round((double)(r - b0) / open, 2) : 0,
                    rss is { } r2 && open > 0 ? Math.Round((double)r2 / open, 2) : 0,
                    rss is { } r3 && previousRss is { } pr && opened > 0 ? Math.Round((double)(r3 - pr) / opened, 2) : 0,
                    fds,
                    use.GeneratorCpuPercent,
                    use.Server?.CpuPercent ?? 0,
                    results.Select(x => x.FirstError).FirstOrDefault(e => e is not null));
                steps.Add(result);
                ctx.Progress.Say($"step {step:N0}: {open:N0} open ({failed:N0} failed) in {seconds:F1} s, {result.OpenedPerSecond:N0}/s; server RSS {result.ServerRssMiB:F0} MiB = {result.KibPerConnectionDelta:F1} KiB/conn over the baseline");
                previous = open;
                previousRss = rss;
                if (failed > 0 && open < step / 2)
                {
                    report.Notes.Add($"stopped at step {step:N0}: only {open:N0} sockets open; first error: {result.FirstError}");
                    break;
                }
            }

            // Hold: idle sockets must stay open (the server's keep-alive pings are answered).
            var holdStarted = Stopwatch.GetTimestamp();
            await using (ctx.Progress.Every(() => $"holding {previous:N0} sockets: {Stopwatch.GetElapsedTime(holdStarted).TotalSeconds:F0}/{o.HoldSeconds:F0} s"))
            {
                await Task.Delay(TimeSpan.FromSeconds(o.HoldSeconds), ctx.Cancel);
            }
            var stillOpen = (await Task.WhenAll(holders.Select(h => h.CountOpenAsync()))).Sum();
            report.Resources = overall.Finish();
            report.Figures["held connections"] = previous;
            report.Figures["still open after hold"] = stillOpen;
            report.Figures["held seconds"] = o.HoldSeconds;
            report.Lost = previous - stillOpen;
            report.Expected = previous;
            report.Delivered = stillOpen;
            if (report.Steps.Count > 0 && report.Steps[^1].KibPerConnectionDelta > 0)
            {
                report.Figures["server KiB per connection at the last step (delta over baseline)"] = report.Steps[^1].KibPerConnectionDelta;
            }
            report.Notes.Add("conns: expected = sockets open after the last step, delivered = sockets still open after the hold, lost = sockets the server dropped while idle");
            report.NoteSaturation();
        }
        finally
        {
            await Task.WhenAll(holders.Select(h => h.DisposeAsync().AsTask()));
        }
    }

    /// <summary>The child side: <c>__child-conns --url URL --tokens FILE --connect-concurrency N --timeout T --ws-token query|header</c>.
    /// Reads commands on stdin (<c>open N</c>, <c>count</c>, <c>exit</c>), answers on stdout; exits
    /// when stdin closes (the parent went away) or the timeout passes.</summary>
    public static async Task<int> ChildMainAsync(string[] args)
    {
        string? url = null, tokens = null;
        var concurrency = 64;
        var timeout = 900.0;
        var inHeader = false;
        for (var i = 1; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--url": url = args[i + 1]; break;
                case "--tokens": tokens = args[i + 1]; break;
                case "--connect-concurrency": concurrency = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--timeout": timeout = double.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--ws-token": inHeader = args[i + 1] == "header"; break;
            }
        }
        if (url is null || tokens is null)
        {
            await Console.Error.WriteLineAsync("__child-conns needs --url and --tokens");
            return 2;
        }
        var uri = new Uri(url);
        if (!BenchOptions.IsLoopback(uri)) return 2;
        using var api = new ApiClient(uri, 4, inHeader);
        await using var holder = new InProcessHolder(api, await File.ReadAllLinesAsync(tokens), concurrency);
        using var lifetime = new CancellationTokenSource(TimeSpan.FromSeconds(timeout));
        var stdout = Console.Out;
        while (!lifetime.IsCancellationRequested)
        {
            var line = await Console.In.ReadLineAsync(lifetime.Token);
            if (line is null || line == "exit") break;
            var parts = line.Split(' ');
            if (parts[0] == "open" && parts.Length == 2)
            {
                using var ticker = new CancellationTokenSource();
                var progress = Task.Run(async () =>
                {
                    try
                    {
                        while (true)
                        {
                            await Task.Delay(500, ticker.Token);
                            lock (stdout) stdout.WriteLine($"progress {holder.OpenNow}");
                        }
                    }
                    catch (OperationCanceledException)
                    {
                    }
                });
                var r = await holder.OpenToAsync(int.Parse(parts[1], CultureInfo.InvariantCulture));
                await ticker.CancelAsync();
                await progress;
                lock (stdout) stdout.WriteLine($"opened {r.Open} {r.Failed} {Escape(r.FirstError)}");
            }
            else if (parts[0] == "count")
            {
                var n = await holder.CountOpenAsync();
                lock (stdout) stdout.WriteLine($"count {n}");
            }
            stdout.Flush();
        }
        return 0;

        static string Escape(string? s) => s is null ? "-" : s.Replace('\n', ' ').Replace('\r', ' ');
    }
}

internal readonly record struct StepResult(int Open, int Failed, string? FirstError);

internal interface IConnHolder : IAsyncDisposable
{
    int OpenNow { get; }
    Task<StepResult> OpenToAsync(int target);
    Task<int> CountOpenAsync();
}

/// <summary>Holds idle sockets in this process.</summary>
internal sealed class InProcessHolder(ApiClient api, string[] tokens, int concurrency) : IConnHolder
{
    private readonly List<WsConnection> _open = [];
    private int _next;
    private int _openNow;

    public int OpenNow => Volatile.Read(ref _openNow);

    public async Task<StepResult> OpenToAsync(int target)
    {
        target = Math.Min(target, tokens.Length);
        var failed = 0;
        string? firstError = null;
        var from = _next;
        _next = Math.Max(_next, target);
        await Parallel.ForAsync(from, target, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (j, _) =>
        {
            var conn = new WsConnection(new BenchUser(j, "", "", tokens[j]), api, tracker: null, receiveBuffer: 1024);
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await conn.ConnectAsync(null, timeout.Token);
                lock (_open) _open.Add(conn);
                Interlocked.Increment(ref _openNow);
            }
            catch (Exception e)
            {
                Interlocked.Increment(ref failed);
                Interlocked.CompareExchange(ref firstError, $"{e.GetType().Name}: {e.Message}", null);
                await conn.DisposeAsync();
            }
        });
        return new StepResult(OpenNow, failed, firstError);
    }

    public Task<int> CountOpenAsync()
    {
        lock (_open) return Task.FromResult(_open.Count(c => c.IsOpen));
    }

    public async ValueTask DisposeAsync()
    {
        WsConnection[] all;
        lock (_open) all = _open.ToArray();
        foreach (var c in all) c.Abort();
        await Task.WhenAll(all.Select(c => c.DisposeAsync().AsTask()));
    }
}

/// <summary>A child copy of the generator holding a share of the sockets.</summary>
internal sealed class ChildHolder : IConnHolder
{
    private readonly Process _process;
    private readonly string _tokensFile;
    private readonly Lock _gate = new();
    private TaskCompletionSource<string> _reply = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _reader;
    private int _openNow;
    private string? _lastStderr;

    private ChildHolder(Process process, string tokensFile)
    {
        _process = process;
        _tokensFile = tokensFile;
        _reader = Task.Run(ReadLoopAsync);
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _lastStderr = e.Data; };
        process.BeginErrorReadLine();
    }

    public static readonly List<int> LivePids = [];

    public int OpenNow => Volatile.Read(ref _openNow);

    public static Task<ChildHolder> StartAsync(BenchContext ctx, string[] tokens, int index, int count)
    {
        var file = Path.Combine(Path.GetTempPath(), $"parley-bench-{ctx.RunId}-{index}.tokens");
        File.WriteAllLines(file, tokens);
        var start = ChildStartInfo();
        foreach (var a in new[] { "--url", ctx.Api.BaseAddress.ToString(), "--tokens", file,
                     "--connect-concurrency", Math.Max(1, ctx.Options.ConnectConcurrency / count).ToString(CultureInfo.InvariantCulture),
                     "--timeout", ctx.Options.TimeoutSeconds.ToString(CultureInfo.InvariantCulture),
                     "--ws-token", ctx.Api.WsTokenInHeader ? "header" : "query" })
        {
            start.ArgumentList.Add(a);
        }
        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start a child generator");
        lock (LivePids) LivePids.Add(process.Id);
        return Task.FromResult(new ChildHolder(process, file));
    }

    /// <summary>This program again: its apphost when there is one, else <c>dotnet Parley.Bench.dll</c>.</summary>
    private static ProcessStartInfo ChildStartInfo()
    {
        var dll = typeof(BenchRunner).Assembly.Location;
        var apphost = Path.ChangeExtension(dll, null);
        ProcessStartInfo start;
        if (!OperatingSystem.IsWindows() && File.Exists(apphost))
        {
            start = new ProcessStartInfo(apphost);
        }
        else
        {
            var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            if (string.IsNullOrEmpty(host)) host = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
            start = new ProcessStartInfo(host);
            start.ArgumentList.Add(dll);
        }
        start.ArgumentList.Add("__child-conns");
        return start;
    }

    private async Task ReadLoopAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("progress ", StringComparison.Ordinal))
            {
                if (int.TryParse(line.AsSpan(9), CultureInfo.InvariantCulture, out var n)) Volatile.Write(ref _openNow, n);
                continue;
            }
            lock (_gate) _reply.TrySetResult(line);
        }
        lock (_gate) _reply.TrySetException(new InvalidOperationException($"child generator {_process.Id} exited: {_lastStderr}"));
    }

    private async Task<string> AskAsync(string command)
    {
        Task<string> reply;
        lock (_gate)
        {
            _reply = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            reply = _reply.Task;
        }
        await _process.StandardInput.WriteLineAsync(command);
        await _process.StandardInput.FlushAsync();
        return await reply;
    }

    public async Task<StepResult> OpenToAsync(int target)
    {
        try
        {
            var parts = (await AskAsync($"open {target}")).Split(' ', 4);
            var open = int.Parse(parts[1], CultureInfo.InvariantCulture);
            Volatile.Write(ref _openNow, open);
            return new StepResult(open, int.Parse(parts[2], CultureInfo.InvariantCulture), parts.Length > 3 && parts[3] != "-" ? parts[3] : null);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException)
        {
            return new StepResult(0, target, e.Message);
        }
    }

    public async Task<int> CountOpenAsync()
    {
        try
        {
            var parts = (await AskAsync("count")).Split(' ');
            return int.Parse(parts[1], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException)
        {
            return 0;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _process.StandardInput.WriteLineAsync("exit");
            await _process.StandardInput.FlushAsync();
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
        }
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill();
        }
        await _reader;
        lock (LivePids) LivePids.Remove(_process.Id);
        _process.Dispose();
        try { File.Delete(_tokensFile); } catch (IOException) { }
    }
}
