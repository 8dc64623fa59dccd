using System.Diagnostics;

namespace Parley.Server.Common;

/// <summary>One structured line per request: method, path (never the query string, which may
/// hold a token), status and duration. Method and path come from the client, so they are escaped.</summary>
public static partial class RequestLogging
{
    public const string Category = "Parley.Requests";

    public static IApplicationBuilder UseRequestLogging(this IApplicationBuilder app)
    {
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(Category);
        return app.Use(async (context, next) =>
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await next(context);
            }
            finally
            {
                Log(logger, context, Stopwatch.GetElapsedTime(started));
            }
        });
    }

    /// <summary>Writes the request's line (for a path that answers ahead of this middleware).</summary>
    public static void Log(ILogger logger, HttpContext context, TimeSpan elapsed)
    {
        if (!logger.IsEnabled(LogLevel.Information)) return;
        Request(logger, LogText.Escape(context.Request.Method), LogText.Escape(context.Request.Path.Value ?? "/"), context.Response.StatusCode, elapsed.TotalMilliseconds);
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "{Method} {Path} {Status} {ElapsedMs:0.0}ms")]
    private static partial void Request(ILogger logger, string method, string path, int status, double elapsedMs);
}
