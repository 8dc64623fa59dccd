using System.Net;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Parley.Server.Configuration;
using Parley.Server.Storage;

namespace Parley.Server.Operations;

/// <summary>The "Parley:Metrics" section.</summary>
public sealed class MetricsOptions
{
    /// <summary>Serve <c>/metrics</c> (Prometheus text format).</summary>
    public bool Enabled { get; set; } = true;
    /// <summary>When set, <c>/metrics</c> answers only on this local port (add it to <c>urls</c>), e.g. one
    /// bound to an internal interface; other ports answer 404.</summary>
    public int? Port { get; set; }
    /// <summary>When not empty, only these client addresses or networks (<c>10.0.0.0/8</c>) may scrape.</summary>
    public string[] AllowedAddresses { get; set; } = [];
}

/// <summary>OpenTelemetry: Parley's meters (and ASP.NET Core's) exported for Prometheus at
/// <c>/metrics</c>; traces of requests and store commits over OTLP when the standard
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (for an OpenTelemetry collector, or AWS X-Ray through one).</summary>
public static class Telemetry
{
    public static IServiceCollection AddParleyTelemetry(this IServiceCollection services, ParleyOptions options, IConfiguration configuration)
    {
        services.AddSingleton<ParleyMetrics>();
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("parley", serviceInstanceId: options.NodeId));
        if (options.Metrics.Enabled)
        {
            telemetry.WithMetrics(metrics => metrics
                // System.Runtime: the runtime's own meter (collections and their pauses, bytes
                // allocated, heap size, thread-pool queue, CPU time), read only when scraped.
                .AddMeter(ParleyMetrics.MeterName, StoreInstruments.Name, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime")
                .AddPrometheusExporter());
        }
        if (!string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            telemetry.WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation(aspnet => aspnet.Filter = context => context.Request.Path != "/metrics")
                .AddSource(StoreInstruments.Name, "Npgsql")
                .AddOtlpExporter());
        }
        return services;
    }

    public static IEndpointRouteBuilder MapMetrics(this WebApplication app, MetricsOptions options)
    {
        if (!options.Enabled) return app;
        var allowed = options.AllowedAddresses.Select(ParseNetwork).ToArray();
        // Scrapes from elsewhere see nothing there.
        app.UseWhen(context => context.Request.Path.StartsWithSegments("/metrics"), branch => branch.Use(async (context, next) =>
        {
            var remote = context.Connection.RemoteIpAddress;
            if (remote is { IsIPv4MappedToIPv6: true }) remote = remote.MapToIPv4();
            var portOk = options.Port is not int port || context.Connection.LocalPort == port;
            var addressOk = allowed.Length == 0 || (remote is not null && allowed.Any(network => network.Contains(remote)));
            if (portOk && addressOk) await next(context);
            else context.Response.StatusCode = StatusCodes.Status404NotFound;
        }));
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }

    private static IPNetwork ParseNetwork(string text) =>
        IPNetwork.TryParse(text, out var network) ? network
        : IPAddress.TryParse(text, out var address) ? new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128)
        : throw new InvalidOperationException($"Parley:Metrics:AllowedAddresses has '{text}', which is neither an address nor a network.");
}
