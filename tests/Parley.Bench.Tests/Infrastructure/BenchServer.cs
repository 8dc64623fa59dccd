using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Parley.Bench.Tests.Infrastructure;

/// <summary>A real Parley server on a loopback port with its own SQLite file in a temporary
/// directory (the approach of tests/Parley.Tests' ParleyServer), configured the way BENCHMARKS.md
/// runs it: cheap password hashes and limits a load generator does not trip.</summary>
public sealed class BenchServer : IAsyncDisposable
{
    public static readonly IReadOnlyDictionary<string, string?> BenchSettings = new Dictionary<string, string?>
    {
        ["Parley:Auth:PasswordIterations"] = "1000",
        ["Parley:Auth:AttemptsPerIpPerMinute"] = "1000000",
        ["Parley:Auth:AttemptsPerAccountPer15Minutes"] = "1000000",
        ["Parley:Limits:MessagesPerSecond"] = "100000",
        ["Parley:Limits:FramesPerSecond"] = "100000",
        ["Parley:Limits:SocketsPerUser"] = "100",
        ["Logging:LogLevel:Default"] = "Warning",
    };

    private readonly WebApplication _app;
    private readonly string _dataDirectory;

    public Uri BaseAddress { get; }

    private BenchServer(WebApplication app, string dataDirectory, Uri baseAddress)
    {
        _app = app;
        _dataDirectory = dataDirectory;
        BaseAddress = baseAddress;
    }

    public static async Task<BenchServer> StartAsync()
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "parley-bench-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDirectory);
        var settings = new Dictionary<string, string?>(BenchSettings) { ["Parley:DataDirectory"] = dataDirectory };
        var app = Parley.Server.ParleyApp.Build(["--urls", "http://127.0.0.1:0"], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Logging.ClearProviders();
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new BenchServer(app, dataDirectory, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (IOException) { /* best effort */ }
    }
}
