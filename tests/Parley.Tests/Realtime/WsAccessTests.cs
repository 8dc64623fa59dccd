using System.Net;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Realtime;

/// <summary>A server whose WebSocket allowlist holds one browser origin.</summary>
public sealed class AllowlistServer : IAsyncLifetime
{
    public const string AllowedOrigin = "https://app.parley.example";
    public ParleyServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await ParleyServer.StartAsync(new Dictionary<string, string?>
    {
        ["Parley:Realtime:AllowedOrigins:0"] = AllowedOrigin,
    });

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

public sealed class WsAccessTests(AllowlistServer fixture) : IClassFixture<AllowlistServer>
{
    private const string AllowedOrigin = AllowlistServer.AllowedOrigin;
    private readonly ParleyServer _server = fixture.Server;

    [Fact]
    public async Task A_connection_without_a_token_is_refused_with_401_before_the_upgrade()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, await WsClient.ConnectExpectingRefusalAsync(_server, token: null));
    }

    [Theory]
    [InlineData("not-a-jwt")]
    [InlineData("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")]
    public async Task A_connection_with_an_invalid_token_is_refused_with_401_before_the_upgrade(string token)
    {
        Assert.Equal(HttpStatusCode.Unauthorized, await WsClient.ConnectExpectingRefusalAsync(_server, token));
    }

    [Fact]
    public async Task A_tampered_token_is_refused_with_401()
    {
        var alice = await ApiClient.CreateUserAsync(_server);
        var parts = alice.AccessToken.Split('.');
        var signature = parts[2].ToCharArray();
        signature[5] = signature[5] == 'A' ? 'B' : 'A';
        var tampered = $"{parts[0]}.{parts[1]}.{new string(signature)}";
        Assert.Equal(HttpStatusCode.Unauthorized, await WsClient.ConnectExpectingRefusalAsync(_server, tampered));
    }

    [Theory]
    [InlineData("not-a-cursor", HttpStatusCode.BadRequest)]
    [InlineData("99999999999999", HttpStatusCode.Gone)]
    public async Task An_unknown_resume_cursor_is_refused_before_the_upgrade(string since, HttpStatusCode status)
    {
        var alice = await ApiClient.CreateUserAsync(_server);
        try
        {
            await using var socket = await WsClient.ConnectAsync(_server, alice.AccessToken, since: since, handshake: false);
        }
        catch (WsRefusedException refused)
        {
            Assert.Equal(status, refused.Status);
            return;
        }
        throw new Xunit.Sdk.XunitException($"a socket with the cursor '{since}' was accepted; the client would silently miss events");
    }

    [Fact]
    public async Task A_valid_token_in_the_query_or_the_authorization_header_is_accepted()
    {
        var alice = await ApiClient.CreateUserAsync(_server);
        await using var byQuery = await WsClient.ConnectAsync(_server, alice.AccessToken);
        await byQuery.AssertAliveAsync();
        await using var byHeader = await WsClient.ConnectAsync(_server, alice.AccessToken, useAuthorizationHeader: true);
        await byHeader.AssertAliveAsync();
    }

    [Fact]
    public async Task A_browser_from_a_foreign_origin_is_refused_with_403_before_the_upgrade()
    {
        var alice = await ApiClient.CreateUserAsync(_server);
        Assert.Equal(HttpStatusCode.Forbidden, await WsClient.ConnectExpectingRefusalAsync(_server, alice.AccessToken, origin: "https://evil.example"));
        // A look-alike of the server's own origin on another port is foreign too.
        var otherPort = $"http://{_server.BaseAddress.Host}:{(_server.BaseAddress.Port == 1 ? 2 : _server.BaseAddress.Port - 1)}";
        Assert.Equal(HttpStatusCode.Forbidden, await WsClient.ConnectExpectingRefusalAsync(_server, alice.AccessToken, origin: otherPort));
        Assert.Equal(HttpStatusCode.Forbidden, await WsClient.ConnectExpectingRefusalAsync(_server, alice.AccessToken, origin: AllowedOrigin + ".evil.example"));
    }

    [Fact]
    public async Task The_servers_own_origin_an_allowlisted_origin_and_no_origin_are_accepted()
    {
        var alice = await ApiClient.CreateUserAsync(_server);
        var ownOrigin = $"http://{_server.BaseAddress.Host}:{_server.BaseAddress.Port}";
        foreach (var origin in new[] { ownOrigin, AllowedOrigin, null })
        {
            await using var socket = await WsClient.ConnectAsync(_server, alice.AccessToken, origin: origin, name: origin ?? "no origin");
            await socket.AssertAliveAsync();
        }
    }
}
