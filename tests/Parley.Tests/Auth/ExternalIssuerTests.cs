using System.Net;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Auth;

/// <summary>One Parley server trusting three local OIDC issuers (two Cognito-style user pools and a
/// generic issuer with an API audience); a fourth issuer it does not trust.</summary>
public sealed class ExternalIssuerFixture : IAsyncLifetime
{
    public const string ClientId = "parley-app-client";
    public const string ApiAudience = "https://api.parley.test";
    public const string GenericClientId = "generic-web-client";

    public TestOidcIssuer Pool { get; private set; } = null!;
    public TestOidcIssuer Generic { get; private set; } = null!;
    /// <summary>Used only by the key rotation test, so its JWKS reads are that test's alone.</summary>
    public TestOidcIssuer Rotating { get; private set; } = null!;
    public TestOidcIssuer Stranger { get; private set; } = null!;
    public ParleyServer Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Pool = await TestOidcIssuer.StartAsync();
        Generic = await TestOidcIssuer.StartAsync();
        Rotating = await TestOidcIssuer.StartAsync();
        Stranger = await TestOidcIssuer.StartAsync();
        var settings = new Dictionary<string, string?>();
        foreach (var (key, value) in Pool.Settings(0, clientIds: [ClientId])) settings[key] = value;
        foreach (var (key, value) in Generic.Settings(1, clientIds: [GenericClientId], audiences: [ApiAudience])) settings[key] = value;
        foreach (var (key, value) in Rotating.Settings(2, clientIds: [ClientId])) settings[key] = value;
        Server = await ParleyServer.StartAsync(settings);
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        foreach (var issuer in new[] { Pool, Generic, Rotating, Stranger }) await issuer.DisposeAsync();
    }
}

public sealed class ExternalIssuerTests(ExternalIssuerFixture fixture) : IClassFixture<ExternalIssuerFixture>
{
    private const string ClientId = ExternalIssuerFixture.ClientId;
    private ParleyServer Server => fixture.Server;
    private TestOidcIssuer Pool => fixture.Pool;

    private static string NewSubject() => Guid.NewGuid().ToString();

    private async Task<ApiClient.Response> MeWith(string token)
    {
        using var api = Server.Api(token);
        return await api.GetAsync("/users/me");
    }

    private async Task AssertRefused(string token, string because)
    {
        var response = await MeWith(token);
        Assert.True(response.Status == HttpStatusCode.Unauthorized, $"{because}: expected 401, got {(int)response.Status} {response.Json}");
        response.AssertError(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_Cognito_access_token_signs_in_and_its_subject_stays_the_same_user()
    {
        var subject = NewSubject();
        var token = Pool.Sign(Pool.CognitoAccessClaims(subject, ClientId, username: "ann.cognito"));

        var first = await MeWith(token);
        first.AssertStatus(HttpStatusCode.OK, "GET /users/me with a Cognito access token");
        var userId = first.Json.Str("id")!;
        Assert.Equal("ann.cognito", first.Json.Str("name"));

        // A later token of the same subject (another sign-in) is the same Parley user.
        var again = await MeWith(Pool.Sign(Pool.CognitoAccessClaims(subject, ClientId, username: "ann.cognito")));
        again.AssertStatus(HttpStatusCode.OK, "GET /users/me with a second token");
        Assert.Equal(userId, again.Json.Str("id"));
    }

    [Fact]
    public async Task A_name_over_the_limit_is_cut_to_64_characters_and_never_inside_an_emoji()
    {
        var me = await MeWith(Pool.Sign(Pool.CognitoAccessClaims(NewSubject(), ClientId, username: Texts.Repeat(Texts.Emoji, 70))));
        me.AssertStatus(HttpStatusCode.OK, "GET /users/me with a long emoji user name");
        Assert.Equal(Texts.Repeat(Texts.Emoji, 64), me.Json.Str("name"));
    }

    [Fact]
    public async Task An_id_token_at_auth_external_makes_the_account_from_its_profile_and_access_tokens_then_use_it()
    {
        var subject = NewSubject();
        var email = $"ext-{Guid.NewGuid():N}@example.com";
        var phone = "+4477" + Random.Shared.Next(10_000_000, 99_999_999);
        using var api = Server.Api();

        var created = await api.PostAsync("/auth/external", new { idToken = Pool.Sign(Pool.CognitoIdClaims(subject, ClientId, "Ann External", email, phone: phone)) });
        created.AssertStatus(HttpStatusCode.OK, "POST /auth/external");
        Assert.True(created.Json.Bool("created"));
        Assert.Equal("Ann External", created.Json.Str("name"));
        Assert.Equal(email, created.Json.Str("email"));
        Assert.Equal(phone, created.Json.Str("phoneNumber"));
        var userId = created.Json.Str("userId")!;

        var me = await MeWith(Pool.Sign(Pool.CognitoAccessClaims(subject, ClientId)));
        me.AssertStatus(HttpStatusCode.OK, "GET /users/me");
        Assert.Equal(userId, me.Json.Str("id"));
        Assert.Equal(email, me.Json.Str("email"));
        Assert.Equal("AE", me.Json.Str("avatar"));

        var again = await api.PostAsync("/auth/external", new { idToken = Pool.Sign(Pool.CognitoIdClaims(subject, ClientId, "Ann Renamed", email)) });
        again.AssertStatus(HttpStatusCode.OK, "POST /auth/external again");
        Assert.False(again.Json.Bool("created"));
        Assert.Equal(userId, again.Json.Str("userId"));
    }

    [Fact]
    public async Task A_generic_issuers_access_token_with_the_api_audience_is_accepted()
    {
        var generic = fixture.Generic;
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var claims = new Dictionary<string, object?>
        {
            ["sub"] = NewSubject(), ["iss"] = generic.Issuer, ["aud"] = ExternalIssuerFixture.ApiAudience,
            ["name"] = "Gene Ric", ["iat"] = now, ["exp"] = now + 600,
        };
        var header = new Dictionary<string, object?> { ["alg"] = "RS256", ["typ"] = "at+jwt", ["kid"] = generic.CurrentKey.Kid };

        var response = await MeWith(generic.Sign(claims, header: header));

        response.AssertStatus(HttpStatusCode.OK, "GET /users/me with a generic access token");
        Assert.Equal("Gene Ric", response.Json.Str("name"));

        claims["aud"] = "https://another.api";
        await AssertRefused(generic.Sign(claims, header: header), "an access token for another audience");
        // The web client's id token (aud = its client id, with a nonce) is not an access token.
        claims["aud"] = ExternalIssuerFixture.GenericClientId;
        claims["nonce"] = "n-0S6_WzA2Mj";
        await AssertRefused(generic.Sign(claims), "a generic id token");
    }

    [Fact]
    public async Task External_and_own_users_chat_over_the_WebSocket()
    {
        var local = await ApiClient.CreateUserAsync(Server, "Local Lou");
        var subject = NewSubject();
        var externalToken = Pool.Sign(Pool.CognitoAccessClaims(subject, ClientId, username: "ext.ed"));
        var me = await MeWith(externalToken);
        me.AssertStatus(HttpStatusCode.OK, "GET /users/me (external)");
        var external = new TestUser(me.Json.Str("id")!, "", "", "ext.ed", Server.Api(externalToken), "");

        await using var externalSocket = await WsClient.ConnectAsync(Server, externalToken, name: "external");
        await using var localSocket = await WsClient.ConnectAsync(Server, local.AccessToken, name: "local");
        var chatId = await local.OpenChatWithAsync(external);
        await local.SendTextAsync(chatId, "hello from a local account");
        var received = await externalSocket.WaitForAsync(f => f.Type == "message" && f.Str("content") == "hello from a local account");
        Assert.Equal(local.Id, received.Str("senderId"));

        await external.SendTextAsync(chatId, "hello from Cognito");
        var reply = await localSocket.WaitForAsync(f => f.Type == "message" && f.Str("content") == "hello from Cognito");
        Assert.Equal(external.Id, reply.Str("senderId"));
        Assert.Equal("ext.ed", reply.Str("senderName"));
    }

    [Fact]
    public async Task The_WebSocket_refuses_external_id_tokens_and_bad_tokens()
    {
        var subject = NewSubject();
        Assert.Equal(HttpStatusCode.Unauthorized,
            await WsClient.ConnectExpectingRefusalAsync(Server, Pool.Sign(Pool.CognitoIdClaims(subject, ClientId, "Ida"))));
        var expired = Pool.CognitoAccessClaims(subject, ClientId);
        expired["exp"] = DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds();
        Assert.Equal(HttpStatusCode.Unauthorized, await WsClient.ConnectExpectingRefusalAsync(Server, Pool.Sign(expired)));
        Assert.Equal(HttpStatusCode.Unauthorized,
            await WsClient.ConnectExpectingRefusalAsync(Server, Pool.Sign(Pool.CognitoAccessClaims(subject, "another-client"))));
    }

    [Fact]
    public async Task An_id_token_where_an_access_token_is_required_is_refused()
    {
        var response = await MeWith(Pool.Sign(Pool.CognitoIdClaims(NewSubject(), ClientId, "Ida")));
        Assert.Contains("id token", response.AssertError(HttpStatusCode.Unauthorized));

        // And the other way round: /auth/external wants the id token.
        using var api = Server.Api();
        var wrongKind = await api.PostAsync("/auth/external", new { idToken = Pool.Sign(Pool.CognitoAccessClaims(NewSubject(), ClientId)) });
        wrongKind.AssertError(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Tokens_from_another_issuer_or_for_another_client_are_refused()
    {
        var subject = NewSubject();
        // An issuer Parley does not trust, though it serves discovery and signs properly.
        var stranger = fixture.Stranger;
        var strangerClaims = stranger.CognitoAccessClaims(subject, ClientId);
        await AssertRefused(stranger.Sign(strangerClaims), "an untrusted issuer");
        // That issuer's token claiming to come from the trusted pool: its key is not the pool's.
        strangerClaims["iss"] = Pool.Issuer;
        await AssertRefused(stranger.Sign(strangerClaims), "a token claiming the pool as issuer, signed elsewhere");
        // The pool's own key, but the issuer claim of another trusted issuer.
        var crossed = Pool.CognitoAccessClaims(subject, ClientId);
        crossed["iss"] = fixture.Generic.Issuer;
        await AssertRefused(Pool.Sign(crossed), "a pool token naming another issuer");

        await AssertRefused(Pool.Sign(Pool.CognitoAccessClaims(subject, "another-app-client")), "another app client");
        var idForOtherClient = Pool.CognitoIdClaims(subject, "another-app-client", "Ida");
        using var api = Server.Api();
        (await api.PostAsync("/auth/external", new { idToken = Pool.Sign(idForOtherClient) })).AssertError(HttpStatusCode.Unauthorized);
        // Nothing of the refused tokens made an account.
        var control = await MeWith(Pool.Sign(Pool.CognitoAccessClaims(subject, ClientId, username: "first.seen.now")));
        control.AssertStatus(HttpStatusCode.OK, "the control token");
        Assert.Equal("first.seen.now", control.Json.Str("name"));
    }

    [Fact]
    public async Task Expired_and_not_yet_valid_tokens_are_refused()
    {
        var claims = Pool.CognitoAccessClaims(NewSubject(), ClientId);
        claims["iat"] = DateTimeOffset.UtcNow.AddHours(-2).ToUnixTimeSeconds();
        claims["exp"] = DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds();
        var response = await MeWith(Pool.Sign(claims));
        Assert.Contains("expired", response.AssertError(HttpStatusCode.Unauthorized));

        var early = Pool.CognitoAccessClaims(NewSubject(), ClientId);
        early["nbf"] = DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeSeconds();
        await AssertRefused(Pool.Sign(early), "a token not valid before ten minutes from now");

        var noExpiry = Pool.CognitoAccessClaims(NewSubject(), ClientId);
        noExpiry.Remove("exp");
        await AssertRefused(Pool.Sign(noExpiry), "a token without exp");
    }

    [Fact]
    public async Task Unsigned_and_tampered_tokens_are_refused()
    {
        var claims = Pool.CognitoAccessClaims(NewSubject(), ClientId);
        var kid = Pool.CurrentKey.Kid;
        await AssertRefused(TokenForge.Encode(new { alg = "none", typ = "JWT", kid }) + "." + TokenForge.Encode(claims) + ".", "alg none");
        await AssertRefused(TokenForge.Encode(new { alg = "none" }) + "." + TokenForge.Encode(claims) + ".", "alg none without kid");
        await AssertRefused(TokenForge.SignHs256("secret"u8.ToArray(), new { alg = "HS256", typ = "JWT", kid }, claims), "HS256");

        var signed = Pool.Sign(claims);
        var parts = signed.Split('.');
        claims["sub"] = NewSubject();
        await AssertRefused(parts[0] + "." + TokenForge.Encode(claims) + "." + parts[2], "a payload changed after signing");
        await AssertRefused("not.a.jwt", "garbage");
    }

    [Fact]
    public async Task An_unknown_key_id_is_refused()
    {
        var unpublished = TestOidcIssuer.NewKey();
        await AssertRefused(Pool.Sign(Pool.CognitoAccessClaims(NewSubject(), ClientId), unpublished), "a key the pool never published");
    }

    [Fact]
    public async Task A_rotated_key_is_fetched_once_and_made_up_key_ids_do_not_fetch_again()
    {
        var issuer = fixture.Rotating;
        (await MeWith(issuer.Sign(issuer.CognitoAccessClaims(NewSubject(), ClientId)))).AssertStatus(HttpStatusCode.OK, "the first key");
        var readsBefore = issuer.JwksReads;

        // The issuer rotates: tokens signed with the new key work at once (the JWKS is read again).
        issuer.Publish(TestOidcIssuer.NewKey());
        (await MeWith(issuer.Sign(issuer.CognitoAccessClaims(NewSubject(), ClientId)))).AssertStatus(HttpStatusCode.OK, "the rotated key");
        Assert.Equal(readsBefore + 1, issuer.JwksReads);

        // Made-up key ids are refused without reading the JWKS again each time.
        for (var i = 0; i < 3; i++)
        {
            await AssertRefused(issuer.Sign(issuer.CognitoAccessClaims(NewSubject(), ClientId), TestOidcIssuer.NewKey()), "a made-up key id");
        }
        Assert.Equal(readsBefore + 1, issuer.JwksReads);
    }

    [Fact]
    public async Task An_email_of_a_local_account_is_not_taken_over()
    {
        var local = await ApiClient.CreateUserAsync(Server, "Local Owner");
        using var api = Server.Api();

        var external = await api.PostAsync("/auth/external",
            new { idToken = Pool.Sign(Pool.CognitoIdClaims(NewSubject(), ClientId, "Claimer", local.Email)) });

        external.AssertStatus(HttpStatusCode.OK, "POST /auth/external with a taken email");
        Assert.NotEqual(local.Id, external.Json.Str("userId"));
        Assert.Null(external.Json.Str("email"));
        // The local account keeps its email and its password sign-in.
        var login = await api.PostAsync("/auth/login", new { email = local.Email, password = local.Password });
        login.AssertStatus(HttpStatusCode.OK, "local login");
        Assert.Equal(local.Id, login.Json.GetProperty("user").Str("id"));
    }

    [Fact]
    public async Task An_unverified_email_is_not_taken_and_an_external_account_has_no_password()
    {
        var email = $"unverified-{Guid.NewGuid():N}@example.com";
        using var api = Server.Api();
        var unverified = await api.PostAsync("/auth/external",
            new { idToken = Pool.Sign(Pool.CognitoIdClaims(NewSubject(), ClientId, "Unverified", email, emailVerified: false)) });
        unverified.AssertStatus(HttpStatusCode.OK, "POST /auth/external with an unverified email");
        Assert.Null(unverified.Json.Str("email"));
        // So the owner of the address can still register it.
        (await api.PostAsync("/auth/register", new { email, password = "a-long-test-passphrase", name = "Owner" }))
            .AssertStatus(HttpStatusCode.Created, "register the unverified address");

        var verifiedEmail = $"verified-{Guid.NewGuid():N}@example.com";
        (await api.PostAsync("/auth/external", new { idToken = Pool.Sign(Pool.CognitoIdClaims(NewSubject(), ClientId, "Verified", verifiedEmail)) }))
            .AssertStatus(HttpStatusCode.OK, "POST /auth/external");
        (await api.PostAsync("/auth/login", new { email = verifiedEmail, password = ExternalPasswordGuess }))
            .AssertError(HttpStatusCode.Unauthorized);
        (await api.PostAsync("/auth/forgot-password", new { email = verifiedEmail })).AssertStatus(HttpStatusCode.Accepted, "forgot-password");
        Assert.Equal(0, LoggedCodes.Count(Server, "reset", verifiedEmail));
    }

    private const string ExternalPasswordGuess = "!external";

    [Fact]
    public async Task A_deleted_external_account_stays_deleted()
    {
        var subject = NewSubject();
        var token = Pool.Sign(Pool.CognitoAccessClaims(subject, ClientId));
        using var api = Server.Api(token);
        (await api.GetAsync("/users/me")).AssertStatus(HttpStatusCode.OK, "GET /users/me");

        (await api.DeleteAsync("/users/me")).AssertStatus(HttpStatusCode.NoContent, "DELETE /users/me");

        await AssertRefused(token, "the token the account was deleted with");
        // A sign-in after the deletion (issued later than it) does not bring the account back.
        var later = Pool.CognitoAccessClaims(subject, ClientId);
        later["iat"] = DateTimeOffset.UtcNow.AddSeconds(5).ToUnixTimeSeconds();
        await AssertRefused(Pool.Sign(later), "a new token of the deleted account's subject");
    }

    [Fact]
    public async Task Own_tokens_keep_working_beside_external_issuers()
    {
        var local = await ApiClient.CreateUserAsync(Server);
        var me = await local.Api.GetAsync("/users/me");
        me.AssertStatus(HttpStatusCode.OK, "GET /users/me with Parley's own token");
        Assert.Equal(local.Id, me.Json.Str("id"));
        // Parley's own id token is no access token either.
        using var api = Server.Api();
        var login = await api.PostAsync("/auth/login", new { email = local.Email, password = local.Password });
        await AssertRefused(login.Json.Str("idToken")!, "Parley's own id token");
    }
}

public sealed class ExternalIssuerSettingsTests
{
    [Fact]
    public async Task An_issuer_without_client_ids_or_audiences_stops_the_server_from_starting()
    {
        // It would take tokens the issuer made for any application.
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ParleyServer.StartAsync(new Dictionary<string, string?>
        {
            ["Parley:Auth:ExternalIssuers:0:Issuer"] = "https://issuer.example",
        }));
        Assert.Contains("ClientIds", error.Message);
    }
}
