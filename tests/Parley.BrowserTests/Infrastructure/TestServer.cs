using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Parley.Testing;

namespace Parley.BrowserTests.Infrastructure;

/// <summary>
/// A real Parley server (Kestrel on a loopback port, a temporary data directory) serving the web
/// client from its build output, on the suite's backend (<see cref="TestBackend"/>: SQLite in the
/// data directory by default, or a PostgreSQL database and S3 bucket of its own).
/// <see cref="RestartAsync"/> stops it and starts a new one on the same data directory, database,
/// bucket and port, so an open page reconnects to it.
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    public static readonly IReadOnlyDictionary<string, string?> Defaults = new Dictionary<string, string?>
    {
        ["Parley:Auth:PasswordIterations"] = "1000",
        ["Parley:Auth:AttemptsPerIpPerMinute"] = "100000",
        ["Parley:Auth:AttemptsPerAccountPer15Minutes"] = "1000",
        ["Parley:Limits:MessagesPerSecond"] = "1000",
        ["Parley:Limits:FramesPerSecond"] = "1000",
        ["Parley:Realtime:PresenceGraceSeconds"] = "1",
        ["Parley:Retention:SweepSeconds"] = "1",
    };

    private readonly Dictionary<string, string?> _settings;
    private WebApplication? _app;

    public string DataDirectory { get; }
    public Uri BaseAddress { get; private set; }
    public ConcurrentQueue<string> Logs { get; } = new();
    /// <summary>The server's clock: real time until a test moves it forward.</summary>
    public ShiftedClock Clock { get; } = new();
    /// <summary>The running server's services, for what no route can do (an account left as deletion
    /// left it before it left groups).</summary>
    public IServiceProvider Services => (_app ?? throw new InvalidOperationException("The server is not running.")).Services;
    /// <summary>How long the last <see cref="StopAsync"/> took (open sockets can hold a shutdown up).</summary>
    public TimeSpan LastStopDuration { get; private set; }

    private TestServer(string dataDirectory, Dictionary<string, string?> settings)
    {
        DataDirectory = dataDirectory;
        _settings = settings;
        BaseAddress = new Uri("http://127.0.0.1:0/");
    }

    public static async Task<TestServer> StartAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "parley-browser-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDirectory);
        var merged = new Dictionary<string, string?>(Defaults) { ["Parley:DataDirectory"] = dataDirectory };
        foreach (var (key, value) in await TestBackend.SettingsForAsync(dataDirectory, settings)) merged[key] = value;
        var server = new TestServer(dataDirectory, merged);
        await server.StartOnAsync("http://127.0.0.1:0");
        return server;
    }

    private async Task StartOnAsync(string url)
    {
        var app = Parley.Server.ParleyApp.Build(["--urls", url], builder =>
        {
            builder.Configuration.AddInMemoryCollection(_settings);
            builder.Logging.ClearProviders(); // kept for failure reports instead of flooding the test output
            builder.Logging.AddProvider(new CapturingLoggerProvider(Logs));
            // Open WebSockets hold a graceful stop for the whole default timeout (30 s); a restart test
            // only needs the sockets to drop, as they would when the process dies.
            builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(2));
            builder.Services.AddSingleton<TimeProvider>(Clock);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address.EndsWith('/') ? address : address + "/");
        _app = app;
    }

    /// <summary>Stops the server; pages see their socket close and requests fail until <see cref="StartAgainAsync"/>.</summary>
    public async Task StopAsync()
    {
        if (_app is null) return;
        var app = _app;
        _app = null;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await app.StopAsync();
        await app.DisposeAsync();
        LastStopDuration = watch.Elapsed;
    }

    /// <summary>Starts a new server process-in-process on the same data directory and port.</summary>
    public async Task StartAgainAsync()
    {
        if (_app is not null) throw new InvalidOperationException("The server is running.");
        var url = $"http://127.0.0.1:{BaseAddress.Port}";
        // The port was just released; a moment of TIME_WAIT or a slow close may refuse the bind.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await StartOnAsync(url);
                return;
            }
            catch (IOException) when (attempt < 50)
            {
                await Task.Delay(100);
            }
        }
    }

    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAgainAsync();
    }

    public Uri Url(string path = "") => new(BaseAddress, path);

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await TestBackend.ReleaseAsync(DataDirectory);
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { /* best effort */ } catch (UnauthorizedAccessException) { /* best effort */ }
    }

    /// <summary>The system clock moved forward by a chosen amount (timers still run on real time).</summary>
    public sealed class ShiftedClock : TimeProvider
    {
        private long _offsetTicks;

        public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow().AddTicks(Interlocked.Read(ref _offsetTicks));
    }

    private sealed class CapturingLoggerProvider(ConcurrentQueue<string> sink) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new CapturingLogger(categoryName, sink);
        public void Dispose() { }
    }

    private sealed class CapturingLogger(string category, ConcurrentQueue<string> sink) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            sink.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
    }
}
