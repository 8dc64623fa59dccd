using Parley.Server.Configuration;

namespace Parley.Server.Common;

/// <summary>CORS for the REST routes, from <c>Parley:Cors:AllowedOrigins</c>, with the framework's
/// middleware: a preflight from a listed origin is answered 204 with the methods and headers a
/// front end uses; the origin is echoed for listed origins only and credentials are never allowed
/// (clients send bearer tokens, not cookies), so the answer is never <c>*</c> with credentials.
/// An origin not listed gets no CORS headers, and the browser keeps its page out.</summary>
public static class CorsSetup
{
    public static readonly string[] Methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    public static readonly string[] Headers = ["Authorization", "Content-Type"];

    /// <summary>The configured origins as browsers send them: no trailing slash.</summary>
    public static string[] Origins(ParleyOptions options) =>
        options.Cors.AllowedOrigins.Where(o => !string.IsNullOrWhiteSpace(o)).Select(o => o.Trim().TrimEnd('/')).ToArray();

    public static IServiceCollection AddParleyCors(this IServiceCollection services, ParleyOptions options)
    {
        var origins = Origins(options);
        services.AddCors(cors => cors.AddDefaultPolicy(policy =>
        {
            policy.WithOrigins(origins)
                .WithMethods(Methods)
                .WithHeaders(Headers)
                // Paging of /users and rate limits answer in headers the client must read.
                .WithExposedHeaders("Link", "Retry-After")
                .SetPreflightMaxAge(TimeSpan.FromMinutes(10));
        }));
        return services;
    }
}
