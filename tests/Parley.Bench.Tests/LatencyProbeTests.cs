using System.Diagnostics;
using System.Text.Json;
using Parley.Bench.Tests.Infrastructure;

namespace Parley.Bench.Tests;

/// <summary>The latency probe (tools/Parley.Bench/latency-probe.mjs, a Node script) against a real
/// server: it registers its pair, sends, and accounts for every message. Correctness only.</summary>
public sealed class LatencyProbeTests : IAsyncLifetime
{
    private BenchServer _server = null!;

    public async Task InitializeAsync() => _server = await BenchServer.StartAsync();
    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task The_probe_times_every_message_it_sends_and_loses_none()
    {
        var json = Path.Combine(Path.GetTempPath(), $"latency-probe-{Guid.NewGuid():N}.json");
        try
        {
            var (exit, output) = await RunProbeAsync("--url", _server.BaseAddress.ToString(), "--rate", "50", "--warmup", "0.5",
                "--duration", "1", "--json-out", json);
            Assert.True(exit == 0, $"the probe exited with {exit}:\n{output}");
            using var report = JsonDocument.Parse(await File.ReadAllTextAsync(json));
            var root = report.RootElement;
            var sent = root.GetProperty("sent").GetInt32();
            Assert.True(sent >= 40, $"the probe sent {sent} messages in its second at 50/s:\n{output}");
            Assert.Equal(sent, root.GetProperty("measured").GetInt32());
            Assert.Equal(0, root.GetProperty("lost").GetInt32());
            Assert.Equal(0, root.GetProperty("duplicates").GetInt32());
            Assert.True(root.GetProperty("latency").GetProperty("p50Ms").GetDouble() > 0, output);
        }
        finally
        {
            File.Delete(json);
        }
    }

    [Fact]
    public async Task An_unknown_option_is_refused_with_the_known_ones()
    {
        var (exit, output) = await RunProbeAsync("--rates", "50");
        Assert.Equal(2, exit);
        Assert.Contains("unknown option --rates", output);
        Assert.Contains("--duration", output);
    }

    [Fact]
    public async Task A_rate_that_is_not_a_positive_number_is_refused()
    {
        var (exit, output) = await RunProbeAsync("--rate", "fast");
        Assert.Equal(2, exit);
        Assert.Contains("--rate must be a number above 0", output);
    }

    private static async Task<(int Exit, string Output)> RunProbeAsync(params string[] args)
    {
        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true };
        // Node 20 and 21 have the WebSocket client behind this flag; later ones accept it as well.
        start.ArgumentList.Add("--experimental-websocket");
        start.ArgumentList.Add(Path.Combine(RepoRoot(), "tools", "Parley.Bench", "latency-probe.mjs"));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Parley.slnx"))) return dir.FullName;
        }
        throw new InvalidOperationException("Parley.slnx not found above " + AppContext.BaseDirectory);
    }
}
