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
            context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString();
            return inner.ExecuteAsync(context);
        }
    }

    public static Task WriteAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new ErrorBody(message), AppJson.Options);
    }
}
