using System.Net;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Auth;

/// <summary>Register, login, refresh and logout over real HTTP: the token round trips and the
/// refresh-token rotation rules.</summary>
public sealed class SessionTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    [Fact]
    public async Task Register_answers_201_with_the_new_account()
    {
        using var api = Server.Api();
        var email = Accounts.NewEmail();
        var response = await api.PostAsync("/auth/register", new { email, password = Accounts.Password, name = "Ada Lovelace" });

        Assert.Equal(HttpStatusCode.Created, response.Status);
        Assert.True(Guid.TryParse(response.Json.GetProperty("userId").GetString(), out _), "userId is a uuid");
        Assert.Equal(email, response.Json.GetProperty("email").GetString());
        Assert.Equal("Ada Lovelace", response.Json.GetProperty("name").GetString());
    }

    [Fact]
    public async Task Login_answers_tokens_and_the_user()
    {
        var email = Accounts.NewEmail();
        var userId = await Accounts.RegisterAsync(Server, email, name: "Grace Hopper");
        using var api = Server.Api();

        var response = await api.PostAsync("/auth/login", new { email, password = Accounts.Password });

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var json = response.Json;
        Assert.False(string.IsNullOrEmpty(json.GetProperty("accessToken").GetString()));
        Assert.False(string.IsNullOrEmpty(json.GetProperty("refreshToken").GetString()));
        Assert.False(string.IsNullOrEmpty(json.GetProperty("idToken").GetString()));
        Assert.Equal(3600, json.GetProperty("expiresIn").GetInt32());
        var user = json.GetProperty("user");
        Assert.Equal(userId, user.GetProperty("id").GetString());
        Assert.Equal(email, user.GetProperty("email").GetString());
        Assert.Equal("Grace Hopper", user.GetProperty("name").GetString());
    }

    [Fact]
    public async Task The_access_token_from_login_opens_the_api_for_that_user()
    {
        var email = Accounts.NewEmail();
        var userId = await Accounts.RegisterAsync(Server, email);
        var session = await Accounts.LoginAsync(Server, email);

        using var api = Server.Api(session.AccessToken);
        var me = await api.GetAsync("/users/me");

        Assert.Equal(HttpStatusCode.OK, me.Status);
        Assert.Equal(userId, me.Json.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Login_ignores_the_case_and_surrounding_spaces_of_the_email()
    {
        var email = Accounts.NewEmail();
        var userId = await Accounts.RegisterAsync(Server, email);
        using var api = Server.Api();

        var response = await api.PostAsync("/auth/login", new { email = "  " + email.ToUpperInvariant() + " ", password = Accounts.Password });

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal(userId, response.Json.GetProperty("user").GetProperty("id").GetString());
    }

    [Fact]
    public async Task Tokens_are_ES256_JWTs_with_the_contract_claims_that_verify_against_the_published_JWKS()
    {
        var email = Accounts.NewEmail();
        var userId = await Accounts.RegisterAsync(Server, email, name: "Alan Turing");
        var session = await Accounts.LoginAsync(Server, email);
        using var api = Server.Api();

        var jwks = await api.GetAsync("/.well-known/jwks.json");
        Assert.Equal(HttpStatusCode.OK, jwks.Status);
        var jwk = Assert.Single(jwks.Json.GetProperty("keys").EnumerateArray());
        Assert.Equal("EC", jwk.GetProperty("kty").GetString());
        Assert.Equal("P-256", jwk.GetProperty("crv").GetString());
        Assert.False(jwk.TryGetProperty("d", out _), "the JWKS must not publish the private key");
        using var publicKey = TokenForge.PublicKeyFromJwk(jwk);

        var (accessHeader, access) = TokenForge.Decode(session.AccessToken);
        Assert.Equal("ES256", accessHeader.GetProperty("alg").GetString());
        Assert.Equal(jwk.GetProperty("kid").GetString(), accessHeader.GetProperty("kid").GetString());
        Assert.True(TokenForge.VerifiesWith(session.AccessToken, publicKey), "access token signature verifies with the JWKS key");
        Assert.Equal(userId, access.GetProperty("sub").GetString());
        Assert.Equal("parley", access.GetProperty("iss").GetString());
        Assert.Equal("parley-clients", access.GetProperty("aud").GetString());
        Assert.Equal("access", access.GetProperty("token_use").GetString());
        Assert.Equal(3600, access.GetProperty("exp").GetInt64() - access.GetProperty("iat").GetInt64());

        var (_, id) = TokenForge.Decode(session.IdToken);
        Assert.True(TokenForge.VerifiesWith(session.IdToken, publicKey), "id token signature verifies with the JWKS key");
        Assert.Equal(userId, id.GetProperty("sub").GetString());
        Assert.Equal("id", id.GetProperty("token_use").GetString());
        Assert.Equal("Alan Turing", id.GetProperty("name").GetString());
        Assert.Equal(email, id.GetProperty("email").GetString());
    }

    [Fact]
    public async Task Refresh_answers_new_tokens_that_work()
    {
        var email = Accounts.NewEmail();
        var userId = await Accounts.RegisterAsync(Server, email);
        var session = await Accounts.LoginAsync(Server, email);
        using var api = Server.Api();

        var refreshed = await api.PostAsync("/auth/refresh", new { refreshToken = session.RefreshToken });

        Assert.Equal(HttpStatusCode.OK, refreshed.Status);
        var next = Session.From(refreshed);
        Assert.NotEqual(session.RefreshToken, next.RefreshToken);
        Assert.Equal(3600, next.ExpiresIn);
        Assert.Equal(userId, TokenForge.Decode(next.IdToken).Payload.GetProperty("sub").GetString());
        using var authed = Server.Api(next.AccessToken);
        var me = await authed.GetAsync("/users/me");
        Assert.Equal(HttpStatusCode.OK, me.Status);
        Assert.Equal(userId, me.Json.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Refresh_rotates_the_token_so_the_old_one_no_longer_works()
    {
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(Server, email);
        var session = await Accounts.LoginAsync(Server, email);
        using var api = Server.Api();

        var first = await api.PostAsync("/auth/refresh", new { refreshToken = session.RefreshToken });
        Assert.Equal(HttpStatusCode.OK, first.Status);
        var again = await api.PostAsync("/auth/refresh", new { refreshToken = session.RefreshToken });

        again.AssertError(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_chain_of_refreshes_keeps_working_while_each_token_is_used_once()
    {
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(Server, email);
        var token = (await Accounts.LoginAsync(Server, email)).RefreshToken;
        using var api = Server.Api();
        var seen = new HashSet<string> { token };

        for (var i = 0; i < 5; i++)
        {
            var response = await api.PostAsync("/auth/refresh", new { refreshToken = token });
            Assert.Equal(HttpStatusCode.OK, response.Status);
            token = response.Json.GetProperty("refreshToken").GetString()!;
            Assert.True(seen.Add(token), "every rotation hands out a fresh token");
        }
    }

    [Fact]
    public async Task Refresh_token_reuse_revokes_the_whole_family()
    {
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(Server, email);
        var original = (await Accounts.LoginAsync(Server, email)).RefreshToken;
        using var api = Server.Api();
        var second = (await api.PostAsync("/auth/refresh", new { refreshToken = original })).Json.GetProperty("refreshToken").GetString()!;
        var newest = (await api.PostAsync("/auth/refresh", new { refreshToken = second })).Json.GetProperty("refreshToken").GetString()!;

        // A thief replays the first token: it is refused, and the legitimate newest token dies with it.
        var replay = await api.PostAsync("/auth/refresh", new { refreshToken = original });
        replay.AssertError(HttpStatusCode.Unauthorized);

        var legit = await api.PostAsync("/auth/refresh", new { refreshToken = newest });
        legit.AssertError(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Refresh_token_reuse_leaves_other_sessions_of_the_user_alone()
    {
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(Server, email);
        var phone = await Accounts.LoginAsync(Server, email);
        var laptop = await Accounts.LoginAsync(Server, email);
        using var api = Server.Api();
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsync("/auth/refresh", new { refreshToken = phone.RefreshToken })).Status);
        (await api.PostAsync("/auth/refresh", new { refreshToken = phone.RefreshToken })).AssertError(HttpStatusCode.Unauthorized);

        var other = await api.PostAsync("/auth/refresh", new { refreshToken = laptop.RefreshToken });

        Assert.Equal(HttpStatusCode.OK, other.Status);
    }

    [Fact]
    public async Task Concurrent_refreshes_with_one_token_let_at_most_one_through()
    {
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(Server, email);
        var session = await Accounts.LoginAsync(Server, email);
        var clients = Enumerable.Range(0, 6).Select(_ => Server.Api()).ToList();

        var answers = await Task.WhenAll(clients.Select(c => c.PostAsync("/auth/refresh", new { refreshToken = session.RefreshToken })));

        Assert.Single(answers, a => a.Status == HttpStatusCode.OK);
        Assert.All(answers.Where(a => a.Status != HttpStatusCode.OK), a => a.AssertError(HttpStatusCode.Unauthorized));
        clients.ForEach(c => c.Dispose());
    }

    [Fact]
    public async Task Refresh_refuses_an_unknown_token()
    {
        using var api = Server.Api();
        var response = await api.PostAsync("/auth/refresh", new { refreshToken = "bm90LWEtcmVhbC10b2tlbi1hdC1hbGwtYWJjZGVmZ2hpams" });
        response.AssertError(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Refresh_without_a_token_is_a_bad_request()
    {
        using var api = Server.Api();
        var response = await api.PostAsync("/auth/refresh", new { });
        Assert.Contains("refreshToken", response.AssertError(HttpStatusCode.BadRequest));
    }

    [Fact]
    public async Task Logout_answers_204_and_revokes_the_refresh_token()
    {
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(Server, email);
        var session = await Accounts.LoginAsync(Server, email);
        using var api = Server.Api();

        var logout = await api.PostAsync("/auth/logout", new { refreshToken = session.RefreshToken });
        Assert.Equal(HttpStatusCode.NoContent, logout.Status);

        var refresh = await api.PostAsync("/auth/refresh", new { refreshToken = session.RefreshToken });
        refresh.AssertError(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Logout_with_an_old_token_of_the_session_revokes_its_newest_token()
    {
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(Server, email);
        var session = await Accounts.LoginAsync(Server, email);
        using var api = Server.Api();
        var newest = (await api.PostAsync("/auth/refresh", new { refreshToken = session.RefreshToken })).Json.GetProperty("refreshToken").GetString()!;

        Assert.Equal(HttpStatusCode.NoContent, (await api.PostAsync("/auth/logout", new { refreshToken = session.RefreshToken })).Status);

        (await api.PostAsync("/auth/refresh", new { refreshToken = newest })).AssertError(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Logout_ends_only_that_session()
    {
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(Server, email);
        var phone = await Accounts.LoginAsync(Server, email);
        var laptop = await Accounts.LoginAsync(Server, email);
        using var api = Server.Api();

        Assert.Equal(HttpStatusCode.NoContent, (await api.PostAsync("/auth/logout", new { refreshToken = phone.RefreshToken })).Status);

        Assert.Equal(HttpStatusCode.OK, (await api.PostAsync("/auth/refresh", new { refreshToken = laptop.RefreshToken })).Status);
    }

    [Fact]
    public async Task Logout_with_an_unknown_token_still_answers_204()
    {
        using var api = Server.Api();
        var response = await api.PostAsync("/auth/logout", new { refreshToken = "no-such-token" });
        Assert.Equal(HttpStatusCode.NoContent, response.Status);
    }

    [Fact]
    public async Task A_refresh_token_past_its_lifetime_is_refused()
    {
        // A lifetime of zero days: every refresh token is already at its expiry when issued.
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Auth:RefreshTokenDays"] = "0" });
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(server, email);
        var session = await Accounts.LoginAsync(server, email);
        using var api = server.Api();

        var response = await api.PostAsync("/auth/refresh", new { refreshToken = session.RefreshToken });

        response.AssertError(HttpStatusCode.Unauthorized);
    }
}
