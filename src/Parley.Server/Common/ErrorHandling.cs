using Microsoft.AspNetCore.Diagnostics;
using Parley.Server.Storage;

namespace Parley.Server.Common;

/// <summary>Turns every failure into an <c>{"error"}</c> body: bad requests the framework rejects
/// (malformed JSON, oversized bodies), empty error statuses (unknown routes, wrong method or content
/// type), a store that is not answering (503, retried by clients, one log line) and unexpected
/// exceptions, which are logged and never shown to the client.</summary>
public static partial class ErrorHandling
{
    public const string StoreNotAnswering = "The server's store is not answering at the moment; try again shortly.";

    public static IApplicationBuilder UseApiErrors(this IApplicationBuilder app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            // A store that is not answering is one line in the log (AnswerAsync), not a stack trace.
            SuppressDiagnosticsCallback = failure => StoreUnavailable.Is(failure.Exception),
            ExceptionHandler = AnswerAsync,
        });
        app.UseStatusCodePages(async statusContext =>
        {
            var context = statusContext.HttpContext;
            var message = context.Response.StatusCode switch
            {
                StatusCodes.Status404NotFound => "No such resource.",
                StatusCodes.Status405MethodNotAllowed => "This method is not allowed on this resource.",
                StatusCodes.Status415UnsupportedMediaType => "The request body must be JSON (Content-Type: application/json).",
                StatusCodes.Status401Unauthorized => "Authentication required: send Authorization: Bearer {accessToken}.",
                StatusCodes.Status403Forbidden => "You are not allowed to do this.",
                StatusCodes.Status413PayloadTooLarge => "The request body is too large.",
                StatusCodes.Status429TooManyRequests => "Too many requests; try again later.",
                var code => $"The request failed with status {code}.",
            };
            await context.Response.WriteAsJsonAsync(new ErrorBody(message), AppJson.Options);
        });
        return app;
    }

    private static async Task AnswerAsync(HttpContext context)
    {
        var error = context.Features.Get<IExceptionHandlerFeature>()?.Error;
        if (error is not null && StoreUnavailable.Describe(error) is { } outage)
        {
            StoreNotAnsweringLogged(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Parley.Requests"),
                context.Request.Method, LogText.Escape(context.Request.Path.Value), outage.Failure, outage.Reason);
            context.Response.Headers.RetryAfter = "1";
            await ApiError.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, StoreNotAnswering);
            return;
        }
        var (status, message) = error switch
        {
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } =>
                (StatusCodes.Status413PayloadTooLarge, "The request body is too large."),
            BadHttpRequestException { StatusCode: StatusCodes.Status415UnsupportedMediaType } =>
                (StatusCodes.Status415UnsupportedMediaType, "The request body must be JSON (Content-Type: application/json)."),
            BadHttpRequestException bad when bad.InnerException is System.Text.Json.JsonException || bad.Message.Contains("JSON", StringComparison.Ordinal) =>
                (StatusCodes.Status400BadRequest, "The request body is not valid JSON for this endpoint."),
            BadHttpRequestException bad => (bad.StatusCode, bad.Message),
            _ => (StatusCodes.Status500InternalServerError, "Something went wrong on the server."),
        };
        await ApiError.WriteAsync(context, status, message);
    }

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "{Method} {Path} answered 503: the store is not answering ({Failure}: {Reason})")]
    private static partial void StoreNotAnsweringLogged(ILogger logger, string method, string path, string failure, string reason);
}
