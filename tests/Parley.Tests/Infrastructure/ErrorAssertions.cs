using System.Net;

namespace Parley.Tests.Infrastructure;

public static class ErrorAssertions
{
    /// <summary>Asserts the contract's error answer: this status, a JSON body, and an <c>error</c>
    /// member holding a human sentence. Returns the sentence.</summary>
    public static string AssertError(this ApiClient.Response response, HttpStatusCode status)
    {
        Assert.True(status == response.Status, $"expected {(int)status} {status} but got {(int)response.Status} {response.Status}: {response.Json}");
        var mediaType = response.Raw.Content.Headers.ContentType?.MediaType;
        Assert.True(mediaType is "application/json" or "application/problem+json", $"error body has content type {mediaType}");
        var error = response.Error;
        Assert.False(string.IsNullOrWhiteSpace(error), $"error body has no error sentence: {response.Json}");
        return error!;
    }

    /// <summary>Asserts that nothing the server logged after the first <paramref name="logsBefore"/>
    /// lines is an error, a critical failure or a stack trace: bad input is a warning at most.</summary>
    public static void AssertNoErrorLoggedSince(this ParleyServer server, int logsBefore)
    {
        var lines = server.Logs.Skip(logsBefore).ToList();
        Assert.DoesNotContain(lines, l => l.Contains("Exception", StringComparison.Ordinal) || l.Contains("   at ", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.StartsWith("Error ", StringComparison.Ordinal) || l.StartsWith("Critical ", StringComparison.Ordinal));
    }
}
