using System.Net;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Compatibility;

/// <summary>A server that allows one other browser origin through <c>Parley:Cors:AllowedOrigins</c>.</summary>
public sealed class CorsServer : IAsyncLifetime
{
    public const string AllowedOrigin = "http://localhost:5173";
    public ParleyServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await ParleyServer.StartAsync(new Dictionary<string, string?>
    {
        ["Parley:Cors:AllowedOrigins:0"] = AllowedOrigin + "/",
    });

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>Front ends served from another origin (a dev server, a static site) call the REST routes
/// and open the WebSocket when that origin is configured; other origins get no CORS headers.</summary>
public sealed class CorsTests(CorsServer fixture) : IClassFixture<CorsServer>
{
    private const string Allowed = CorsServer.AllowedOrigin;
    private const string Refused = "https://evil.example";
    private ParleyServer Server => fixture.Server;

    private async Task<HttpResponseMessage> PreflightAsync(string path, string origin, string method, string headers)
    {
        using var http = Server.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Options, path);
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", method);
        request.Headers.Add("Access-Control-Request-Headers", headers);
        return await http.SendAsync(request);
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;

    [Theory]
    [InlineData("/auth/login", "POST", "content-type")]
    [InlineData("/chats", "GET", "authorization")]
    [InlineData("/chat/messages", "POST", "authorization,content-type")]
    [InlineData("/messages/msg_x", "DELETE", "authorization")]
    [InlineData("/users/me", "PATCH", "authorization,content-type")]
    public async Task A_preflight_from_an_allowed_origin_is_answered_204_with_the_methods_and_headers(string path, string method, string headers)
    {
        using var response = await PreflightAsync(path, Allowed, method, headers);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(Allowed, Header(response, "Access-Control-Allow-Origin"));
        Assert.Contains(method, Header(response, "Access-Control-Allow-Methods")!.Split(','));
        var allowedHeaders = Header(response, "Access-Control-Allow-Headers")!.ToLowerInvariant();
        foreach (var header in headers.Split(',')) Assert.Contains(header, allowedHeaders);
        // Bearer tokens, not cookies: credentials are never allowed, so never together with '*'.
        Assert.Null(Header(response, "Access-Control-Allow-Credentials"));
    }

    [Fact]
    public async Task A_preflight_from_an_origin_not_listed_gets_no_cors_headers()
    {
        using var response = await PreflightAsync("/chats", Refused, "GET", "authorization");
        Assert.Null(Header(response, "Access-Control-Allow-Origin"));
        Assert.Null(Header(response, "Access-Control-Allow-Methods"));
        Assert.Null(Header(response, "Access-Control-Allow-Headers"));
    }

    [Fact]
    public async Task Answers_to_an_allowed_origin_carry_its_origin_and_others_carry_none()
    {
        var ann = await ApiClient.CreateUserAsync(Server);
        foreach (var (origin, expected) in new[] { (Allowed, Allowed), (Refused, null) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/users/me");
            request.Headers.Add("Origin", origin);
            var response = await ann.Api.SendAsync(request);
            response.AssertStatus(HttpStatusCode.OK, $"GET /users/me from {origin}");
            Assert.Equal(expected, Header(response.Raw, "Access-Control-Allow-Origin"));
            Assert.Null(Header(response.Raw, "Access-Control-Allow-Credentials"));
        }
        // Errors too, so the page can read the sentence.
        using var anonymous = new HttpRequestMessage(HttpMethod.Get, "/chats");
        anonymous.Headers.Add("Origin", Allowed);
        var refused = await Server.Api().SendAsync(anonymous);
        refused.AssertStatus(HttpStatusCode.Unauthorized, "GET /chats without a token");
        Assert.Equal(Allowed, Header(refused.Raw, "Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task The_same_origins_may_open_the_WebSocket_and_others_may_not()
    {
        var ann = await ApiClient.CreateUserAsync(Server);
        await using (var socket = await WsClient.ConnectAsync(Server, ann.AccessToken, origin: Allowed))
        {
            await socket.AssertAliveAsync();
        }
        Assert.Equal(HttpStatusCode.Forbidden, await WsClient.ConnectExpectingRefusalAsync(Server, ann.AccessToken, origin: Refused));
    }
}
