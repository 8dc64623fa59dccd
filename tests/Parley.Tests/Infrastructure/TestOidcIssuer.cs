using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Parley.Tests.Infrastructure;

/// <summary>
/// A real OIDC issuer on a loopback port, as Cognito looks to Parley: a discovery document at
/// <c>/.well-known/openid-configuration</c>, a JWKS of RSA public keys, and tokens signed RS256
/// with those keys. Tests can publish another key (a rotation) and count JWKS reads.
/// </summary>
public sealed class TestOidcIssuer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<SigningKey> _published = [];
    private int _jwksReads;

    public sealed record SigningKey(string Kid, RSA Rsa);

    public string Issuer { get; }
    /// <summary>The key tokens are signed with unless a test names another.</summary>
    public SigningKey CurrentKey { get; private set; }
    public int JwksReads => Volatile.Read(ref _jwksReads);

    private TestOidcIssuer(WebApplication app, string issuer, SigningKey first)
    {
        _app = app;
        Issuer = issuer;
        CurrentKey = first;
    }

    public static async Task<TestOidcIssuer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        TestOidcIssuer? issuer = null;
        app.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = issuer!.Issuer,
            ["jwks_uri"] = issuer.Issuer + "/.well-known/jwks.json",
            ["authorization_endpoint"] = issuer.Issuer + "/oauth2/authorize",
            ["token_endpoint"] = issuer.Issuer + "/oauth2/token",
            ["response_types_supported"] = new[] { "code" },
            ["subject_types_supported"] = new[] { "public" },
            ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
        }));
        app.MapGet("/.well-known/jwks.json", () =>
        {
            Interlocked.Increment(ref issuer!._jwksReads);
            lock (issuer._published) return Results.Json(new { keys = issuer._published.Select(Jwk).ToArray() });
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        issuer = new TestOidcIssuer(app, address.TrimEnd('/'), NewKey());
        issuer.Publish(issuer.CurrentKey);
        return issuer;
    }

    public static SigningKey NewKey() => new("key-" + Guid.NewGuid().ToString("N")[..12], RSA.Create(2048));

    /// <summary>Adds a key to the JWKS and signs with it from now on (a key rotation).</summary>
    public void Publish(SigningKey key)
    {
        lock (_published) _published.Add(key);
        CurrentKey = key;
    }

    private static object Jwk(SigningKey key)
    {
        var p = key.Rsa.ExportParameters(false);
        return new { kty = "RSA", use = "sig", alg = "RS256", kid = key.Kid, n = Base64Url.EncodeToString(p.Modulus!), e = Base64Url.EncodeToString(p.Exponent!) };
    }

    /// <summary>The claims of a Cognito access token for <paramref name="subject"/> issued to <paramref name="clientId"/>.</summary>
    public Dictionary<string, object?> CognitoAccessClaims(string subject, string clientId, string? username = null)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return new()
        {
            ["sub"] = subject, ["iss"] = Issuer, ["client_id"] = clientId, ["token_use"] = "access",
            ["scope"] = "aws.cognito.signin.user.admin", ["username"] = username ?? "user-" + subject[..8],
            ["auth_time"] = now, ["iat"] = now, ["exp"] = now + 3600, ["jti"] = Guid.NewGuid().ToString(),
        };
    }

    /// <summary>The claims of a Cognito id token: the profile, <c>aud</c> the app client.</summary>
    public Dictionary<string, object?> CognitoIdClaims(string subject, string clientId, string name, string? email = null,
        bool emailVerified = true, string? phone = null)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var claims = new Dictionary<string, object?>
        {
            ["sub"] = subject, ["iss"] = Issuer, ["aud"] = clientId, ["token_use"] = "id", ["cognito:username"] = "user-" + subject[..8],
            ["name"] = name, ["auth_time"] = now, ["iat"] = now, ["exp"] = now + 3600,
        };
        if (email is not null) { claims["email"] = email; claims["email_verified"] = emailVerified; }
        if (phone is not null) { claims["phone_number"] = phone; claims["phone_number_verified"] = true; }
        return claims;
    }

    public string Sign(Dictionary<string, object?> claims, SigningKey? key = null, Dictionary<string, object?>? header = null)
    {
        key ??= CurrentKey;
        header ??= new() { ["alg"] = "RS256", ["typ"] = "JWT", ["kid"] = key.Kid };
        var signingInput = TokenForge.Encode(header) + "." + TokenForge.Encode(claims);
        var signature = key.Rsa.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }

    /// <summary>Settings that make Parley trust this issuer as <c>ExternalIssuers:{index}</c>.</summary>
    public Dictionary<string, string?> Settings(int index, string[]? clientIds = null, string[]? audiences = null)
    {
        var prefix = $"Parley:Auth:ExternalIssuers:{index}:";
        var settings = new Dictionary<string, string?>
        {
            [prefix + "Issuer"] = Issuer,
            [prefix + "RequireHttps"] = "false",
            // Long, so a test can show that made-up key ids do not each fetch the JWKS.
            [prefix + "KeyRefreshSeconds"] = "3600",
        };
        for (var i = 0; i < (clientIds?.Length ?? 0); i++) settings[prefix + $"ClientIds:{i}"] = clientIds![i];
        for (var i = 0; i < (audiences?.Length ?? 0); i++) settings[prefix + $"Audiences:{i}"] = audiences![i];
        return settings;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
