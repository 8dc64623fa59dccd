namespace Parley.Server.Common;

/// <summary>The body of every error answer: <c>{"error": "a human sentence"}</c>.</summary>
public sealed record ErrorBody(string Error);

public static class ApiError
{
    public static IResult Status(int status, string message) => TypedResults.Json(new ErrorBody(message), AppJson.Options, statusCode: status);
    public static IResult BadRequest(string message) => Status(StatusCodes.Status400BadRequest, message);
    public static IResult Unauthorized(string message) => Status(StatusCodes.Status401Unauthorized, message);
    public static IResult Forbidden(string message) => Status(StatusCodes.Status403Forbidden, message);
    public static IResult NotFound(string message) => Status(StatusCodes.Status404NotFound, message);
    public static IResult Conflict(string message) => Status(StatusCodes.Status409Conflict, message);

    public static IResult TooManyRequests(TimeSpan retryAfter, string message = "Too many attempts; try again later.") =>
        new RetryAfterResult(retryAfter, Status(StatusCodes.Status429TooManyRequests, message));

    private sealed class RetryAfterResult(TimeSpan retryAfter, IResult inner) : IResult
    {
        public Task ExecuteAsync(HttpContext context)
        {
            context.Response.Headers.RetryAfter = RetryAfterSeconds(retryAfter);
            return inner.ExecuteAsync(context);
        }
    }

    /// <summary>As <see cref="TooManyRequests"/>, written straight to a response (outside an endpoint's result).</summary>
    public static Task WriteTooManyAsync(HttpContext context, TimeSpan retryAfter, string message)
    {
        context.Response.Headers.RetryAfter = RetryAfterSeconds(retryAfter);
        return WriteAsync(context, StatusCodes.Status429TooManyRequests, message);
    }

    /// <summary>Whole seconds, at least one: what <c>Retry-After</c> carries.</summary>
    private static string RetryAfterSeconds(TimeSpan wait) =>
        Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static Task WriteAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new ErrorBody(message), AppJson.Options);
    }
}
