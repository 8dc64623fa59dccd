using System.Net;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Auth;

/// <summary>Accounts, sessions and the signing key live in the store, so a restart on the same data
/// directory changes nothing for clients.</summary>
public sealed class RestartTests
{
    [Fact]
    public async Task Data_survives_a_server_restart()
    {
        await using var first = await ParleyServer.StartAsync();
        var email = Accounts.NewEmail();
        var userId = await Accounts.RegisterAsync(first, email, name: "Persistent Person");
        var session = await Accounts.LoginAsync(first, email);
        using (var api = first.Api(session.AccessToken))
        {
            Assert.Equal(HttpStatusCode.OK, (await api.PatchAsync("/users/me", new { about = "still here" })).Status);
        }
        string jwksBefore;
        using (var http = first.CreateClient()) jwksBefore = await http.GetStringAsync("/.well-known/jwks.json");
        await first.StopAsync();

        await using var second = await ParleyServer.StartAsync(dataDirectory: first.DataDirectory);

        // The login still works...
        await Accounts.LoginAsync(second, email);
        // ...the access token issued before the restart is still accepted (the key was kept)...
        using var old = second.Api(session.AccessToken);
        var me = await old.GetAsync("/users/me");
        Assert.Equal(HttpStatusCode.OK, me.Status);
        Assert.Equal(userId, me.Json.GetProperty("id").GetString());
        Assert.Equal("Persistent Person", me.Json.GetProperty("name").GetString());
        Assert.Equal("still here", me.Json.GetProperty("about").GetString());
        using (var http = second.CreateClient()) Assert.Equal(jwksBefore, await http.GetStringAsync("/.well-known/jwks.json"));
        // ...and so is the refresh token, which still rotates.
        using var anonymous = second.Api();
        var refreshed = await anonymous.PostAsync("/auth/refresh", new { refreshToken = session.RefreshToken });
        Assert.Equal(HttpStatusCode.OK, refreshed.Status);
    }

    [Fact]
    public async Task A_refresh_token_used_before_a_restart_is_still_known_as_used_after_it()
    {
        await using var first = await ParleyServer.StartAsync();
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(first, email);
        var session = await Accounts.LoginAsync(first, email);
        string newest;
        using (var api = first.Api())
        {
            newest = (await api.PostAsync("/auth/refresh", new { refreshToken = session.RefreshToken })).Json.GetProperty("refreshToken").GetString()!;
        }
        await first.StopAsync();

        await using var second = await ParleyServer.StartAsync(dataDirectory: first.DataDirectory);
        using var client = second.Api();

        (await client.PostAsync("/auth/refresh", new { refreshToken = session.RefreshToken })).AssertError(HttpStatusCode.Unauthorized);
        (await client.PostAsync("/auth/refresh", new { refreshToken = newest })).AssertError(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_duplicate_email_is_still_refused_after_a_restart()
    {
        await using var first = await ParleyServer.StartAsync();
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(first, email);
        await first.StopAsync();

        await using var second = await ParleyServer.StartAsync(dataDirectory: first.DataDirectory);
        using var api = second.Api();

        (await api.PostAsync("/auth/register", new { email = email.ToUpperInvariant(), password = Accounts.Password, name = "Again" })).AssertError(HttpStatusCode.Conflict);
    }
}
