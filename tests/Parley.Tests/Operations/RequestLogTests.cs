using System.Net;
using System.Text.RegularExpressions;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Operations;

/// <summary>One log line per request (method, path, status), with the status the client really got
/// and never the query string.</summary>
public sealed class RequestLogTests
{
    /// <summary>The request log line for this method and path. The line may be written just after the
    /// answer reaches the client, so wait for it (bounded); this waits, it does not time anything.</summary>
    private static async Task<List<string>> RequestLines(ParleyServer server, string method, string path, int expected = 1)
    {
        var pattern = new Regex($"Parley\\.Requests: {method} {Regex.Escape(path)} [0-9]{{3}} ");
        for (var i = 0; i < 100; i++)
        {
            var lines = server.Logs.Where(l => pattern.IsMatch(l)).ToList();
            if (lines.Count >= expected) return lines;
            await Task.Delay(50);
        }
        return server.Logs.Where(l => pattern.IsMatch(l)).ToList();
    }

    [Fact]
    public async Task A_request_is_logged_with_its_method_path_and_status()
    {
        await using var server = await ParleyServer.StartAsync();
        using var api = server.Api();
        var email = Accounts.NewEmail();

        (await api.PostAsync("/auth/login", new { email, password = "wrong-password-1" })).AssertError(HttpStatusCode.Unauthorized);

        var line = Assert.Single(await RequestLines(server, "POST", "/auth/login"));
        Assert.True(line.Contains("POST /auth/login 401 ", StringComparison.Ordinal), "request log line: " + line);
    }

    [Theory]
    [InlineData("{\"email\": ")]
    [InlineData("null")]
    public async Task A_request_refused_by_the_framework_is_logged_with_the_status_the_client_got(string body)
    {
        await using var server = await ParleyServer.StartAsync();
        using var api = server.Api();

        var response = await api.PostAsync("/auth/login", body);

        response.AssertError(HttpStatusCode.BadRequest);
        var line = Assert.Single(await RequestLines(server, "POST", "/auth/login"));
        Assert.True(line.Contains("POST /auth/login 400 ", StringComparison.Ordinal), "the client got 400 but the request log says: " + line);
    }

    [Fact]
    public async Task The_request_log_leaves_out_the_query_string()
    {
        await using var server = await ParleyServer.StartAsync();
        var user = await ApiClient.CreateUserAsync(server);
        var secret = "query-secret-" + Guid.NewGuid().ToString("N");

        Assert.Equal(HttpStatusCode.OK, (await user.Api.GetAsync("/users?search=" + secret)).Status);

        Assert.Single(await RequestLines(server, "GET", "/users"));
        Assert.DoesNotContain(server.Logs, l => l.Contains(secret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bearer_tokens_never_appear_in_the_log()
    {
        await using var server = await ParleyServer.StartAsync();
        var user = await ApiClient.CreateUserAsync(server);
        Assert.Equal(HttpStatusCode.OK, (await user.Api.GetAsync("/users/me")).Status);
        using var forged = server.Api(user.AccessToken + "x");
        (await forged.GetAsync("/users/me")).AssertError(HttpStatusCode.Unauthorized);
        using var anonymous = server.Api();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.PostAsync("/auth/refresh", new { refreshToken = user.RefreshToken })).Status);

        await RequestLines(server, "POST", "/auth/refresh");
        var signature = user.AccessToken.Split('.')[2];
        Assert.DoesNotContain(server.Logs, l => l.Contains(signature, StringComparison.Ordinal));
        Assert.DoesNotContain(server.Logs, l => l.Contains(user.RefreshToken, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_socket_request_is_logged_refused_or_once_its_socket_ends_and_never_with_its_token()
    {
        await using var server = await ParleyServer.StartAsync();
        var user = await ApiClient.CreateUserAsync(server);

        Assert.Equal(HttpStatusCode.Unauthorized, await WsClient.ConnectExpectingRefusalAsync(server, user.AccessToken + "x"));
        var refused = Assert.Single(await RequestLines(server, "GET", "/ws"));
        Assert.Contains("GET /ws 401 ", refused, StringComparison.Ordinal);

        await using (var socket = await WsClient.ConnectAsync(server, user.AccessToken))
        {
            await socket.AssertAliveAsync();
            await socket.CloseAsync();
        }
        var lines = await RequestLines(server, "GET", "/ws", expected: 2);
        Assert.Contains(lines, l => l.Contains("GET /ws 101 ", StringComparison.Ordinal));
        var signature = user.AccessToken.Split('.')[2];
        Assert.DoesNotContain(server.Logs, l => l.Contains(signature, StringComparison.Ordinal));
    }
}
