using System.Net.Sockets;
using System.Reflection;
using Microsoft.Extensions.Options;

namespace Parley.Server.Operations;

/// <summary>
/// What an operator reads when the server cannot start: one line on standard error and exit code 1,
/// instead of the host's stack trace and an abort. A mistake in the settings names the setting in
/// its message; a store that does not answer, or refuses the credentials, says which store.
/// </summary>
public static class StartupFailure
{
    public static int Report(Exception ex)
    {
        Console.Error.WriteLine($"Parley could not start: {Describe(ex)}");
        return 1;
    }

    /// <summary>The failure as one line: the innermost meaningful exception, named by what failed.</summary>
    public static string Describe(Exception ex)
    {
        while (ex is TargetInvocationException or AggregateException && ex.InnerException is { } inner) ex = inner;
        var what = ex switch
        {
            // The server's own refusals of its settings are sentences that name the setting.
            InvalidOperationException or OptionsValidationException or ArgumentException => ex.Message,
            Amazon.Runtime.AmazonServiceException => $"AWS (DynamoDB or S3) refused: {Chain(ex)}",
            // Its credential message lists every provider it tried; the first sentence says it.
            Amazon.Runtime.AmazonClientException =>
                $"{FirstSentence(ex.Message)} Give Parley:Storage:DynamoDb:AccessKey and SecretKey (any values for a local endpoint), or AWS credentials the SDK finds.",
            Npgsql.NpgsqlException or Npgsql.PostgresException => $"PostgreSQL: {Chain(ex)}",
            StackExchange.Redis.RedisException => $"Redis: {Chain(ex)}",
            SocketException or HttpRequestException or TimeoutException => $"a service it needs did not answer: {Chain(ex)}",
            IOException or UnauthorizedAccessException => Chain(ex),
            _ => $"{ex.GetType().Name}: {Chain(ex)}",
        };
        return OneLine(what);
    }

    /// <summary>The message and those of the exceptions inside it, most specific last.</summary>
    private static string Chain(Exception ex)
    {
        var parts = new List<string>();
        for (var e = ex; e is not null && parts.Count < 4; e = e.InnerException)
        {
            var message = e.Message.TrimEnd('.');
            if (!parts.Contains(message)) parts.Add(message);
        }
        return string.Join(": ", parts) + ".";
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end < 0 ? message : message[..(end + 1)];
    }

    private static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
