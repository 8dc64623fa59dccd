using System.Net;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Compatibility;

/// <summary><c>Parley:Auth:RefreshTokenReuse</c>: <c>Rotate</c> (the default) hands out a new refresh
/// token each time and treats a second use as theft; <c>Reuse</c> behaves as Cognito, whose clients
/// keep their first refresh token until it expires or the session ends.</summary>
public sealed class RefreshTokenReuseTests
{
    private static async Task<(ParleyServer Server, string Email, Session Session)> SignedInAsync(string? mode)
    {
        var server = await ParleyServer.StartAsync(mode is null ? null : new Dictionary<string, string?> { ["Parley:Auth:RefreshTokenReuse"] = mode });
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(server, email);
        return (server, email, await Accounts.LoginAsync(server, email));
    }

    private static async Task<ApiClient.Response> RefreshAsync(ParleyServer server, string refreshToken)
    {
        using var api = server.Api();
        return await api.PostAsync("/auth/refresh", new { refreshToken });
    }

    [Fact]
    public async Task Under_Reuse_the_same_refresh_token_works_twice_and_each_answer_carries_it()
    {
        var (server, _, session) = await SignedInAsync("Reuse");
        await using var _ = server;
        foreach (var round in new[] { 1, 2, 3 })
        {
            var refreshed = await RefreshAsync(server, session.RefreshToken);
            refreshed.AssertStatus(HttpStatusCode.OK, $"refresh #{round} with the original token");
            Assert.Equal(session.RefreshToken, refreshed.Json.Str("refreshToken"));
            using var api = server.Api(refreshed.Json.Str("accessToken"));
            (await api.GetAsync("/users/me")).AssertStatus(HttpStatusCode.OK, $"GET /users/me with access token #{round}");
            Assert.False(string.IsNullOrEmpty(refreshed.Json.Str("idToken")));
        }
    }

    [Fact]
    public async Task Under_Reuse_logout_ends_the_refresh_token()
    {
        var (server, _, session) = await SignedInAsync("Reuse");
        await using var _ = server;
        (await RefreshAsync(server, session.RefreshToken)).AssertStatus(HttpStatusCode.OK, "refresh");
        using (var api = server.Api())
        {
            (await api.PostAsync("/auth/logout", new { refreshToken = session.RefreshToken })).AssertStatus(HttpStatusCode.NoContent, "logout");
        }
        var after = await RefreshAsync(server, session.RefreshToken);
        after.AssertStatus(HttpStatusCode.Unauthorized, "refresh after logout");
        Assert.NotNull(after.Error);
    }

    [Fact]
    public async Task Under_Reuse_a_password_reset_ends_the_refresh_token()
    {
        var (server, email, session) = await SignedInAsync("Reuse");
        await using var _ = server;
        using (var api = server.Api())
        {
            (await api.PostAsync("/auth/forgot-password", new { email })).AssertStatus(HttpStatusCode.Accepted, "forgot-password");
            var code = LoggedCodes.Required(server, "reset", email);
            (await api.PostAsync("/auth/reset-password", new { email, code, newPassword = "another-long-passphrase" }))
                .AssertStatus(HttpStatusCode.NoContent, "reset-password");
        }
        (await RefreshAsync(server, session.RefreshToken)).AssertStatus(HttpStatusCode.Unauthorized, "refresh after a reset");
    }

    [Fact]
    public async Task Under_Rotate_by_default_a_second_use_revokes_the_family()
    {
        var (server, _, session) = await SignedInAsync(null);
        await using var _ = server;
        var first = await RefreshAsync(server, session.RefreshToken);
        first.AssertStatus(HttpStatusCode.OK, "first refresh");
        var rotated = first.Json.Str("refreshToken")!;
        Assert.NotEqual(session.RefreshToken, rotated);

        var replay = await RefreshAsync(server, session.RefreshToken);
        replay.AssertStatus(HttpStatusCode.Unauthorized, "second use of the original token");
        // The whole family is gone: the token handed out by the first refresh no longer works either.
        (await RefreshAsync(server, rotated)).AssertStatus(HttpStatusCode.Unauthorized, "refresh with the rotated token after the replay");
    }
}
