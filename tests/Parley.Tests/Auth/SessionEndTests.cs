using System.Net;
using System.Net.WebSockets;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Auth;

/// <summary>A session that ends, ends everywhere at once: its access tokens are refused from then
/// on and its sockets are closed with 1008, while the user's other sessions go on. Logout and a
/// replayed refresh token end one session; a password reset and account deletion end them all.</summary>
public sealed class SessionEndTests
{
    private sealed record Device(Session Tokens, ApiClient Api, WsClient Socket) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Api.Dispose();
            await Socket.DisposeAsync();
        }
    }

    private static async Task<Device> SignInAsync(ParleyServer server, string email, string password = Accounts.Password, string? name = null)
    {
        var tokens = await Accounts.LoginAsync(server, email, password);
        var socket = await WsClient.ConnectAsync(server, tokens.AccessToken, name: name);
        return new Device(tokens, server.Api(tokens.AccessToken), socket);
    }

    private static async Task AssertEndedAsync(ParleyServer server, Device device)
    {
        await device.Socket.WaitForEndAsync();
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, device.Socket.CloseStatus);
        (await device.Api.GetAsync("/users/me")).AssertError(HttpStatusCode.Unauthorized);
        Assert.Equal(HttpStatusCode.Unauthorized, await WsClient.ConnectExpectingRefusalAsync(server, device.Tokens.AccessToken));
    }

    private static async Task AssertLiveAsync(Device device)
    {
        await device.Socket.AssertAliveAsync();
        (await device.Api.GetAsync("/users/me")).AssertStatus(HttpStatusCode.OK, "the other session still works");
    }

    [Fact]
    public async Task Logout_ends_that_session_at_once_and_only_that_one()
    {
        await using var server = await ParleyServer.StartAsync();
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(server, email);
        await using var phone = await SignInAsync(server, email, name: "phone");
        await using var laptop = await SignInAsync(server, email, name: "laptop");
        using var anonymous = server.Api();

        (await anonymous.PostAsync("/auth/logout", new { refreshToken = phone.Tokens.RefreshToken })).AssertStatus(HttpStatusCode.NoContent, "logout");

        await AssertEndedAsync(server, phone);
        (await anonymous.PostAsync("/auth/refresh", new { refreshToken = phone.Tokens.RefreshToken })).AssertError(HttpStatusCode.Unauthorized);
        await AssertLiveAsync(laptop);
    }

    [Fact]
    public async Task A_replayed_refresh_token_ends_its_session_including_the_access_tokens_already_issued()
    {
        await using var server = await ParleyServer.StartAsync();
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(server, email);
        await using var victim = await SignInAsync(server, email, name: "victim");
        await using var other = await SignInAsync(server, email, name: "other");
        using var anonymous = server.Api();
        var rotated = await anonymous.PostAsync("/auth/refresh", new { refreshToken = victim.Tokens.RefreshToken });
        rotated.AssertStatus(HttpStatusCode.OK, "first refresh");
        using var newer = server.Api(rotated.Json.Str("accessToken"));

        // The old refresh token comes back (a thief replays a stolen copy).
        (await anonymous.PostAsync("/auth/refresh", new { refreshToken = victim.Tokens.RefreshToken })).AssertError(HttpStatusCode.Unauthorized);

        await AssertEndedAsync(server, victim);
        (await newer.GetAsync("/users/me")).AssertError(HttpStatusCode.Unauthorized);
        (await anonymous.PostAsync("/auth/refresh", new { refreshToken = rotated.Json.Str("refreshToken") })).AssertError(HttpStatusCode.Unauthorized);
        await AssertLiveAsync(other);
    }

    [Fact]
    public async Task A_password_reset_ends_every_session_and_a_new_sign_in_works()
    {
        await using var server = await ParleyServer.StartAsync();
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(server, email);
        await using var one = await SignInAsync(server, email, name: "one");
        await using var two = await SignInAsync(server, email, name: "two");
        using var anonymous = server.Api();
        (await anonymous.PostAsync("/auth/forgot-password", new { email })).AssertStatus(HttpStatusCode.Accepted, "forgot-password");
        var code = LoggedCodes.Required(server, "reset", email);

        (await anonymous.PostAsync("/auth/reset-password", new { email, code, newPassword = "a-brand-new-passphrase" }))
            .AssertStatus(HttpStatusCode.NoContent, "reset-password");

        await AssertEndedAsync(server, one);
        await AssertEndedAsync(server, two);
        await using var fresh = await SignInAsync(server, email, "a-brand-new-passphrase", "fresh");
        await AssertLiveAsync(fresh);
    }

    [Fact]
    public async Task Deleting_the_account_ends_every_session()
    {
        await using var server = await ParleyServer.StartAsync();
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(server, email);
        await using var one = await SignInAsync(server, email, name: "one");
        await using var two = await SignInAsync(server, email, name: "two");

        (await one.Api.DeleteAsync("/users/me")).AssertStatus(HttpStatusCode.NoContent, "delete account");

        await AssertEndedAsync(server, one);
        await AssertEndedAsync(server, two);
    }

    [Fact]
    public async Task An_ended_session_stays_ended_after_a_restart()
    {
        await using var first = await ParleyServer.StartAsync();
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(first, email);
        var ended = await Accounts.LoginAsync(first, email);
        var kept = await Accounts.LoginAsync(first, email);
        using (var anonymous = first.Api())
        {
            (await anonymous.PostAsync("/auth/logout", new { refreshToken = ended.RefreshToken })).AssertStatus(HttpStatusCode.NoContent, "logout");
        }
        await first.StopAsync();

        await using var second = await ParleyServer.StartAsync(dataDirectory: first.DataDirectory);

        using var endedApi = second.Api(ended.AccessToken);
        using var keptApi = second.Api(kept.AccessToken);
        (await endedApi.GetAsync("/users/me")).AssertError(HttpStatusCode.Unauthorized);
        (await keptApi.GetAsync("/users/me")).AssertStatus(HttpStatusCode.OK, "the other session after the restart");
    }
}
