using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Parley.Tests.Infrastructure;

/// <summary>Builds JWTs by hand, so tests can present tokens the server must refuse (and one it must
/// accept, to prove the forging itself is right).</summary>
public static class TokenForge
{
    public const string Issuer = "parley";
    public const string Audience = "parley-clients";

    /// <summary>The claims of a valid access token for <paramref name="userId"/>, as a mutable map.</summary>
    public static Dictionary<string, object?> AccessClaims(string userId)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return new Dictionary<string, object?>
        {
            ["sub"] = userId,
            ["token_use"] = "access",
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["iss"] = Issuer,
            ["aud"] = Audience,
            ["iat"] = now,
            ["nbf"] = now,
            ["exp"] = now + 3600,
        };
    }

    public static Dictionary<string, object?> Es256Header(string kid) => new() { ["alg"] = "ES256", ["typ"] = "JWT", ["kid"] = kid };

    public static string Encode(object value) => Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(value));

    public static string SignEs256(ECDsa key, object header, object claims)
    {
        var signingInput = Encode(header) + "." + Encode(claims);
        var signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }

    public static string SignHs256(byte[] secret, object header, object claims)
    {
        var signingInput = Encode(header) + "." + Encode(claims);
        return signingInput + "." + Base64Url.EncodeToString(HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes(signingInput)));
    }

    /// <summary>The decoded header and payload of a JWT.</summary>
    public static (JsonElement Header, JsonElement Payload) Decode(string token)
    {
        var parts = token.Split('.');
        if (parts.Length != 3) throw new ArgumentException("not a JWT: " + token);
        return (JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0])).RootElement.Clone(),
                JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1])).RootElement.Clone());
    }

    /// <summary>True when the ES256 signature of <paramref name="token"/> verifies with <paramref name="key"/>.</summary>
    public static bool VerifiesWith(string token, ECDsa key)
    {
        var lastDot = token.LastIndexOf('.');
        var signature = Base64Url.DecodeFromChars(token.AsSpan(lastDot + 1));
        return key.VerifyData(Encoding.ASCII.GetBytes(token[..lastDot]), signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
    }

    /// <summary>The public key a JWKS document publishes (its first key).</summary>
    public static ECDsa PublicKeyFromJwk(JsonElement jwk) => ECDsa.Create(new ECParameters
    {
        Curve = ECCurve.NamedCurves.nistP256,
        Q = new ECPoint
        {
            X = Base64Url.DecodeFromChars(jwk.GetProperty("x").GetString()),
            Y = Base64Url.DecodeFromChars(jwk.GetProperty("y").GetString()),
        },
    });
}
