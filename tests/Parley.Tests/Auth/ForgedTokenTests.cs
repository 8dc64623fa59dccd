using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Auth;

/// <summary>Every kind of bad bearer token is refused with 401 and an error sentence. Tokens with a
/// valid signature but wrong claims are signed with the server's own key, read from its store, so
/// only the claim under test is wrong.</summary>
public sealed class ForgedTokenTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    private async Task<ApiClient.Response> MeWith(string token)
    {
        using var api = Server.Api(token);
        return await api.GetAsync("/users/me");
    }

    private async Task AssertRefused(string token)
    {
        var response = await MeWith(token);
        response.AssertError(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_token_forged_with_the_servers_own_key_and_right_claims_is_accepted()
    {
        // The control for every test below: the forging itself is right, so a refusal there is
        // caused by the one thing each test changes.
        var user = await ApiClient.CreateUserAsync(Server);
        var (key, kid) = ServerDatabase.SigningKey(Server);

        var response = await MeWith(TokenForge.SignEs256(key, TokenForge.Es256Header(kid), TokenForge.AccessClaims(user.Id)));

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal(user.Id, response.Json.GetProperty("id").GetString());
    }

    [Fact]
    public async Task A_token_accepted_before_is_refused_once_any_byte_of_it_changes_under_the_same_signature()
    {
        // Verified signatures are remembered per token: the memory must cover the whole token.
        var user = await ApiClient.CreateUserAsync(Server);
        var other = await ApiClient.CreateUserAsync(Server);
        var (key, kid) = ServerDatabase.SigningKey(Server);
        var token = TokenForge.SignEs256(key, TokenForge.Es256Header(kid), TokenForge.AccessClaims(user.Id));
        Assert.Equal(HttpStatusCode.OK, (await MeWith(token)).Status);
        Assert.Equal(HttpStatusCode.OK, (await MeWith(token)).Status);

        var parts = token.Split('.');
        var otherClaims = TokenForge.SignEs256(key, TokenForge.Es256Header(kid), TokenForge.AccessClaims(other.Id)).Split('.')[1];
        var swapped = parts[0] + "." + otherClaims + "." + parts[2];
        await AssertRefused(swapped);
        await AssertRefused(swapped);
        var me = await MeWith(token);
        Assert.Equal(HttpStatusCode.OK, me.Status);
        Assert.Equal(user.Id, me.Json.GetProperty("id").GetString());
    }

    [Fact]
    public async Task A_token_with_alg_none_is_refused()
    {
        var user = await ApiClient.CreateUserAsync(Server);
        var (_, kid) = ServerDatabase.SigningKey(Server);
        var claims = TokenForge.AccessClaims(user.Id);

        await AssertRefused(TokenForge.Encode(new { alg = "none", typ = "JWT", kid }) + "." + TokenForge.Encode(claims) + ".");
        await AssertRefused(TokenForge.Encode(new { alg = "none", typ = "JWT" }) + "." + TokenForge.Encode(claims) + ".");
        await AssertRefused(TokenForge.Encode(new { alg = "None", typ = "JWT", kid }) + "." + TokenForge.Encode(claims) + ".");
    }

    public static TheoryData<string> PublicKeyEncodings => ["x||y", "04||x||y", "SubjectPublicKeyInfo DER", "PEM", "JWKS JSON", "x"];

    [Theory]
    [MemberData(nameof(PublicKeyEncodings))]
    public async Task A_token_signed_with_HS256_keyed_by_the_public_key_is_refused(string encoding)
    {
        var user = await ApiClient.CreateUserAsync(Server);
        using var api = Server.Api();
        var jwksText = await api.Http.GetStringAsync("/.well-known/jwks.json");
        var jwk = JsonDocument.Parse(jwksText).RootElement.GetProperty("keys")[0];
        var kid = jwk.GetProperty("kid").GetString()!;
        var x = Base64Url.DecodeFromChars(jwk.GetProperty("x").GetString());
        var y = Base64Url.DecodeFromChars(jwk.GetProperty("y").GetString());
        using var publicKey = TokenForge.PublicKeyFromJwk(jwk);
        byte[] secret = encoding switch
        {
            "x||y" => [.. x, .. y],
            "04||x||y" => [0x04, .. x, .. y],
            "SubjectPublicKeyInfo DER" => publicKey.ExportSubjectPublicKeyInfo(),
            "PEM" => Encoding.ASCII.GetBytes(publicKey.ExportSubjectPublicKeyInfoPem()),
            "JWKS JSON" => Encoding.UTF8.GetBytes(jwksText),
            _ => x,
        };
        var claims = TokenForge.AccessClaims(user.Id);

        await AssertRefused(TokenForge.SignHs256(secret, new { alg = "HS256", typ = "JWT", kid }, claims));
        await AssertRefused(TokenForge.SignHs256(secret, new { alg = "HS256", typ = "JWT" }, claims));
    }

    [Fact]
    public async Task A_token_signed_by_a_different_EC_key_is_refused()
    {
        var user = await ApiClient.CreateUserAsync(Server);
        var (_, kid) = ServerDatabase.SigningKey(Server);
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        await AssertRefused(TokenForge.SignEs256(otherKey, TokenForge.Es256Header(kid), TokenForge.AccessClaims(user.Id)));
        await AssertRefused(TokenForge.SignEs256(otherKey, TokenForge.Es256Header("attacker-key"), TokenForge.AccessClaims(user.Id)));
    }

    [Fact]
    public async Task A_token_naming_another_key_id_or_none_is_refused_even_when_the_signature_is_ours()
    {
        var user = await ApiClient.CreateUserAsync(Server);
        var (key, _) = ServerDatabase.SigningKey(Server);

        await AssertRefused(TokenForge.SignEs256(key, TokenForge.Es256Header("some-other-kid"), TokenForge.AccessClaims(user.Id)));
        await AssertRefused(TokenForge.SignEs256(key, new { alg = "ES256", typ = "JWT" }, TokenForge.AccessClaims(user.Id)));
    }

    [Theory]
    [InlineData("iss", "someone-else")]
    [InlineData("aud", "other-clients")]
    [InlineData("token_use", "id")]
    [InlineData("token_use", "refresh")]
    public async Task A_correctly_signed_token_with_a_wrong_claim_is_refused(string claim, string value)
    {
        var user = await ApiClient.CreateUserAsync(Server);
        var (key, kid) = ServerDatabase.SigningKey(Server);
        var claims = TokenForge.AccessClaims(user.Id);
        claims[claim] = value;

        await AssertRefused(TokenForge.SignEs256(key, TokenForge.Es256Header(kid), claims));
    }

    [Theory]
    [InlineData("iss")]
    [InlineData("aud")]
    [InlineData("exp")]
    [InlineData("sub")]
    [InlineData("token_use")]
    public async Task A_correctly_signed_token_missing_a_required_claim_is_refused(string claim)
    {
        var user = await ApiClient.CreateUserAsync(Server);
        var (key, kid) = ServerDatabase.SigningKey(Server);
        var claims = TokenForge.AccessClaims(user.Id);
        claims.Remove(claim);

        await AssertRefused(TokenForge.SignEs256(key, TokenForge.Es256Header(kid), claims));
    }

    [Fact]
    public async Task An_expired_token_is_refused()
    {
        var user = await ApiClient.CreateUserAsync(Server);
        var (key, kid) = ServerDatabase.SigningKey(Server);
        var claims = TokenForge.AccessClaims(user.Id);
        var hourAgo = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeSeconds();
        claims["iat"] = hourAgo - 3600;
        claims["nbf"] = hourAgo - 3600;
        claims["exp"] = hourAgo;

        var response = await MeWith(TokenForge.SignEs256(key, TokenForge.Es256Header(kid), claims));

        Assert.Contains("expired", response.AssertError(HttpStatusCode.Unauthorized));
    }

    [Fact]
    public async Task A_token_the_server_issued_already_expired_is_refused()
    {
        // No forging here: the server itself issues tokens whose lifetime ended five minutes ago.
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Auth:AccessTokenMinutes"] = "-5" });
        var user = await ApiClient.CreateUserAsync(server);

        var response = await user.Api.GetAsync("/users/me");

        response.AssertError(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_token_not_valid_until_the_future_is_refused()
    {
        var user = await ApiClient.CreateUserAsync(Server);
        var (key, kid) = ServerDatabase.SigningKey(Server);
        var claims = TokenForge.AccessClaims(user.Id);
        claims["nbf"] = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds();
        claims["exp"] = DateTimeOffset.UtcNow.AddHours(2).ToUnixTimeSeconds();

        await AssertRefused(TokenForge.SignEs256(key, TokenForge.Es256Header(kid), claims));
    }

    [Fact]
    public async Task A_token_with_a_tampered_payload_is_refused()
    {
        var victim = await ApiClient.CreateUserAsync(Server);
        var attacker = await ApiClient.CreateUserAsync(Server);
        var parts = attacker.AccessToken.Split('.');
        var claims = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(Base64Url.DecodeFromChars(parts[1]))!;
        claims["sub"] = JsonSerializer.SerializeToElement(victim.Id);

        await AssertRefused(parts[0] + "." + TokenForge.Encode(claims) + "." + parts[2]);
    }

    [Fact]
    public async Task A_token_with_a_tampered_header_or_signature_is_refused()
    {
        var user = await ApiClient.CreateUserAsync(Server);
        var parts = user.AccessToken.Split('.');
        var signature = Base64Url.DecodeFromChars(parts[2]);
        signature[^1] ^= 0x01;

        await AssertRefused(parts[0] + "." + parts[1] + "." + Base64Url.EncodeToString(signature));
        await AssertRefused(parts[0] + "." + parts[1] + ".");
        await AssertRefused(parts[0] + "." + parts[1]);
        await AssertRefused(TokenForge.Encode(new { alg = "ES256", typ = "JWT", kid = "x" }) + "." + parts[1] + "." + parts[2]);
    }

    [Fact]
    public async Task An_id_token_is_not_accepted_as_an_access_token()
    {
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(Server, email);
        var session = await Accounts.LoginAsync(Server, email);

        await AssertRefused(session.IdToken);
        Assert.Equal(HttpStatusCode.OK, (await MeWith(session.AccessToken)).Status);
    }

    [Fact]
    public async Task A_refresh_token_is_not_accepted_as_an_access_token()
    {
        var user = await ApiClient.CreateUserAsync(Server);
        await AssertRefused(user.RefreshToken);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("a.b.c")]
    [InlineData("...")]
    [InlineData("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")]
    [InlineData("%%%.%%%.%%%")]
    [InlineData("bnVsbA.bnVsbA.bnVsbA")]
    public async Task A_garbage_token_is_refused(string token)
    {
        await AssertRefused(token);
    }

    [Theory]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("42")]
    [InlineData("\"ES256\"")]
    [InlineData("[{\"alg\":\"ES256\"}]")]
    public async Task A_token_whose_header_is_JSON_but_not_an_object_is_refused(string headerJson)
    {
        var user = await ApiClient.CreateUserAsync(Server);
        var parts = user.AccessToken.Split('.');

        await AssertRefused(Base64Url.EncodeToString(Encoding.UTF8.GetBytes(headerJson)) + "." + parts[1] + "." + parts[2]);
    }

    [Theory]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("\"sub\"")]
    public async Task A_correctly_signed_token_whose_payload_is_not_an_object_is_refused(string payloadJson)
    {
        var (key, kid) = ServerDatabase.SigningKey(Server);
        var signingInput = TokenForge.Encode(TokenForge.Es256Header(kid)) + "." + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payloadJson));
        var signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

        await AssertRefused(signingInput + "." + Base64Url.EncodeToString(signature));
    }

    [Theory]
    [InlineData("aud", "[\"parley-clients\"]")]
    [InlineData("iss", "{\"name\":\"parley\"}")]
    [InlineData("sub", "12345")]
    [InlineData("sub", "\"\"")]
    [InlineData("token_use", "true")]
    [InlineData("exp", "\"never\"")]
    [InlineData("exp", "null")]
    [InlineData("exp", "1e400")]
    [InlineData("nbf", "\"now\"")]
    public async Task A_correctly_signed_token_with_a_claim_of_the_wrong_type_is_refused(string claim, string json)
    {
        var user = await ApiClient.CreateUserAsync(Server);
        var (key, kid) = ServerDatabase.SigningKey(Server);
        var claims = TokenForge.AccessClaims(user.Id);
        claims[claim] = JsonDocument.Parse(json).RootElement.Clone();

        await AssertRefused(TokenForge.SignEs256(key, TokenForge.Es256Header(kid), claims));
    }

    [Fact]
    public async Task A_huge_token_is_refused()
    {
        var user = await ApiClient.CreateUserAsync(Server);
        var (key, kid) = ServerDatabase.SigningKey(Server);
        var claims = TokenForge.AccessClaims(user.Id);
        claims["padding"] = new string('x', 8000);

        await AssertRefused(TokenForge.SignEs256(key, TokenForge.Es256Header(kid), claims));
    }

    [Theory]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Bearer")]
    [InlineData("Bearer ")]
    public async Task A_malformed_authorization_header_is_refused(string header)
    {
        using var client = Server.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/users/me");
        request.Headers.TryAddWithoutValidation("Authorization", header);
        using var api = new ApiClient(client, null);

        var response = await api.SendAsync(request);

        response.AssertError(HttpStatusCode.Unauthorized);
    }
}
