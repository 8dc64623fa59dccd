using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Parley.Testing;

namespace Parley.Tests.Infrastructure;

/// <summary>
/// A real Parley server on a loopback port with its own temporary data directory, on the suite's
/// backend (<see cref="TestBackend"/>: its own SQLite file there by default, or its own PostgreSQL
/// database and S3 bucket). Tests talk to it over real HTTP and WebSocket. Stop and start again on
/// the same <see cref="DataDirectory"/> to test restarts: it finds the same database and bucket.
/// </summary>
public sealed class ParleyServer : IAsyncDisposable
{
    /// <summary>Settings every test server gets unless a test overrides them: a cheap password hash
    /// (the hash count is configuration; production keeps OWASP's) and limits tests do not trip by accident.</summary>
    public static readonly IReadOnlyDictionary<string, string?> TestDefaults = new Dictionary<string, string?>
    {
        ["Parley:Auth:PasswordIterations"] = "1000",
        ["Parley:Auth:AttemptsPerIpPerMinute"] = "100000",
        ["Parley:Auth:AttemptsPerAccountPer15Minutes"] = "1000",
        ["Parley:Limits:MessagesPerSecond"] = "1000",
        ["Parley:Limits:FramesPerSecond"] = "1000",
        // A trim is a full collection of the process, here the test runner's: IdleMemoryTrimTests
        // run it on servers in processes of their own.
        ["Parley:Memory:TrimAfterQuietSeconds"] = "0",
    };

    private readonly WebApplication? _app;
    private readonly bool _ownsDirectory;

    public string DataDirectory { get; }
    public Uri BaseAddress { get; }
    /// <summary>Every log line the server wrote, formatted, for tests that check what is (not) logged.</summary>
    public ConcurrentQueue<string> Logs { get; }

    private ParleyServer(WebApplication? app, string dataDirectory, bool ownsDirectory, Uri baseAddress, ConcurrentQueue<string> logs)
    {
        _app = app;
        DataDirectory = dataDirectory;
        _ownsDirectory = ownsDirectory;
        BaseAddress = baseAddress;
        Logs = logs;
    }

    /// <param name="services">Services a test adds to the server's own (for example a startup
    /// filter that watches requests from inside the server).</param>
    public static async Task<ParleyServer> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, string? dataDirectory = null,
        TimeProvider? clock = null, Action<IServiceCollection>? services = null)
    {
        var ownsDirectory = dataDirectory is null;
        dataDirectory ??= Path.Combine(Path.GetTempPath(), "parley-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDirectory);
        var merged = new Dictionary<string, string?>(TestDefaults) { ["Parley:DataDirectory"] = dataDirectory };
        foreach (var (key, value) in await TestBackend.SettingsForAsync(dataDirectory, settings)) merged[key] = value;

        var logs = new ConcurrentQueue<string>();
        var app = Parley.Server.ParleyApp.Build(["--urls", "http://127.0.0.1:0"], builder =>
        {
            builder.Configuration.AddInMemoryCollection(merged);
            builder.Logging.AddProvider(new CapturingLoggerProvider(logs));
            if (clock is not null) builder.Services.AddSingleton(clock);
            services?.Invoke(builder.Services);
        });
        try
        {
            await app.StartAsync();
        }
        catch
        {
            // A start that fails (a test of a refused start) lets go of what it opened.
            await app.DisposeAsync();
            throw;
        }
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ParleyServer(app, dataDirectory, ownsDirectory, new Uri(address), logs);
    }

    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("This server runs in another process.");

    /// <summary>A server running in another process (a cluster node): tests reach it by address only.</summary>
    public static ParleyServer Attach(Uri baseAddress, string dataDirectory) => new(null, dataDirectory, false, baseAddress, new());

    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    public ApiClient Api(string? accessToken = null) => new(CreateClient(), accessToken);

    /// <summary>The WebSocket address, with a token and optionally a resume cursor.</summary>
    public Uri WebSocketUri(string? accessToken, string? since = null, string? ticket = null)
    {
        var query = new List<string>();
        if (accessToken is not null) query.Add("token=" + Uri.EscapeDataString(accessToken));
        if (ticket is not null) query.Add("ticket=" + Uri.EscapeDataString(ticket));
        if (since is not null) query.Add("since=" + Uri.EscapeDataString(since));
        return new Uri($"ws://{BaseAddress.Host}:{BaseAddress.Port}/ws" + (query.Count > 0 ? "?" + string.Join('&', query) : ""));
    }

    private bool _stopped;

    public async Task StopAsync()
    {
        if (_stopped) return;
        _stopped = true;
        if (_app is null) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (_ownsDirectory)
        {
            await TestBackend.ReleaseAsync(DataDirectory);
            try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { /* best effort */ }
        }
    }

    private sealed class CapturingLoggerProvider(ConcurrentQueue<string> sink) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new CapturingLogger(categoryName, sink);
        public void Dispose() { }
    }

    private sealed class CapturingLogger(string category, ConcurrentQueue<string> sink) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            sink.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
    }
}
