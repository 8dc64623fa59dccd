using Parley.Server.Common;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Parley.Server.Configuration;
using Parley.Server.Storage;

namespace Parley.Server.Auth;

/// <summary>
/// Issues and checks JWTs signed with ES256 (ECDSA P-256). The private key is created on first
/// start and kept in the store, so restarts and every node of a cluster sign and verify alike.
/// Verification pins the algorithm: the header must say ES256 and name our key; anything else
/// (alg "none", HS256 keyed with the public key, a foreign kid) is refused before any crypto.
/// </summary>
public sealed class TokenService(IParleyStore store, SecretSeal seal, IOptions<ParleyOptions> options, TimeProvider clock)
{
    private static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);
    private const string Algorithm = "ES256";

    /// <summary>Tokens whose signature was verified, so a token sent with every request costs one
    /// ECDSA verification (about a tenth of a history page's CPU), not one per request. The key is
    /// the SHA-256 of the whole token, so a token differing in any byte is verified afresh, and a
    /// remembered token costs 32 bytes rather than a kilobyte (a socket's token stays remembered
    /// while it is open). The claims (expiry included) are still checked every time. Bounded:
    /// cleared when full.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(UInt128, UInt128), bool> _verified = new();
    private const int MaxVerified = 10_000;

    private ECDsa? _key;
    private string _keyId = "";
    private byte[] _headerPrefix = [];

    public async Task InitializeAsync()
    {
        var candidate = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var record = await store.GetOrAddSigningKeyAsync(new SigningKeyRecord(
            Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)),
            seal.SealText(Convert.ToBase64String(candidate.ExportPkcs8PrivateKey()), SecretSeal.SigningKeyPurpose),
            clock.NowMs()));
        var key = ECDsa.Create();
        var stored = StoredSecret.Text(StoredSecretKind.SigningKey, record.KeyId, null, record.PrivateKeyPkcs8);
        key.ImportPkcs8PrivateKey(Convert.FromBase64String(await seal.OpenServerKeyAsync(store, stored)), out _);
        _keyId = record.KeyId;
        _headerPrefix = Encoding.ASCII.GetBytes(Base64Url.EncodeToString(
            JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["alg"] = Algorithm, ["typ"] = "JWT", ["kid"] = _keyId })) + ".");
        _key = key;
        _verified.Clear();
    }

    private static (UInt128, UInt128) DigestOf(string token)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(token.AsSpan()), hash);
        return (System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(hash), System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(hash[16..]));
    }

    private ECDsa Key => _key ?? throw new InvalidOperationException("TokenService is not initialized.");

    public int AccessTokenSeconds => options.Value.Auth.AccessTokenMinutes * 60;

    /// <summary>An access token of one sign-in session: <c>sid</c> names the session (its refresh-token
    /// family), so ending the session refuses every access token it was given.</summary>
    public string CreateAccessToken(string userId, string sessionId)
    {
        var now = clock.GetUtcNow().ToUnixTimeSeconds();
        var issuedMs = clock.NowMs();
        return Sign(writer =>
        {
            writer.WriteString("sub", userId);
            writer.WriteString("sid", sessionId);
            writer.WriteString("token_use", "access");
            // Millisecond issue time, so a revocation can tell tokens of the same second apart.
            writer.WriteNumber("iat_ms", issuedMs);
            writer.WriteString("jti", Guid.NewGuid().ToString("N"));
            WriteStandardClaims(writer, now);
        });
    }

    public string CreateIdToken(UserRecord user)
    {
        var now = clock.GetUtcNow().ToUnixTimeSeconds();
        return Sign(writer =>
        {
            writer.WriteString("sub", user.Id);
            writer.WriteString("token_use", "id");
            writer.WriteString("name", user.Name);
            if (user.Email is not null) writer.WriteString("email", user.Email);
            if (user.PhoneNumber is not null) writer.WriteString("phone_number", user.PhoneNumber);
            WriteStandardClaims(writer, now);
        });
    }

    /// <summary>How long a sign-in waits for its second step.</summary>
    public const int MfaTokenSeconds = 300;

    /// <summary>Proof that the password was right, exchanged with a code at <c>/auth/mfa</c> for the
    /// session's tokens. It is no access token (<c>token_use</c> says so) and lives five minutes; the
    /// session it produces, or five wrong codes, spend it sooner (<see cref="MfaTokenUses"/>).</summary>
    public string CreateMfaToken(string userId)
    {
        var now = clock.GetUtcNow().ToUnixTimeSeconds();
        return Sign(writer =>
        {
            writer.WriteString("sub", userId);
            writer.WriteString("token_use", "mfa");
            writer.WriteString("jti", Guid.NewGuid().ToString("N"));
            WriteStandardClaims(writer, now, MfaTokenSeconds);
        });
    }

    /// <summary>The user id of a valid, unexpired sign-in token from <see cref="CreateMfaToken"/>, or
    /// null; <paramref name="tokenId"/> is its <c>jti</c>, which names the token for its uses
    /// (<see cref="MfaTokenUses"/>). The signed claim, not the token's text: an ECDSA signature can be
    /// rewritten into another valid one, so the same token can be sent in more than one spelling.</summary>
    public string? ValidateMfaToken(string token, out string tokenId)
    {
        var userId = Validate(token, "mfa", out _, out _, out _, out var jti);
        tokenId = jti ?? "";
        return string.IsNullOrEmpty(jti) ? null : userId;
    }

    private void WriteStandardClaims(Utf8JsonWriter writer, long now, int? lifetimeSeconds = null)
    {
        writer.WriteString("iss", options.Value.Auth.Issuer);
        writer.WriteString("aud", options.Value.Auth.Audience);
        writer.WriteNumber("iat", now);
        writer.WriteNumber("nbf", now);
        writer.WriteNumber("exp", now + (lifetimeSeconds ?? AccessTokenSeconds));
    }

    private string Sign(Action<Utf8JsonWriter> writeClaims)
    {
        var payload = new MemoryStream();
        using (var writer = new Utf8JsonWriter(payload))
        {
            writer.WriteStartObject();
            writeClaims(writer);
            writer.WriteEndObject();
        }
        var signingInput = new List<byte>(_headerPrefix);
        signingInput.AddRange(Encoding.ASCII.GetBytes(Base64Url.EncodeToString(payload.ToArray())));
        var bytes = signingInput.ToArray();
        var signature = Key.SignData(bytes, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return Encoding.ASCII.GetString(bytes) + "." + Base64Url.EncodeToString(signature);
    }

    /// <summary>The user id of a valid access token, or null with the reason.</summary>
    public string? ValidateAccessToken(string token, out string failure) => ValidateAccessToken(token, out failure, out _, out _);

    /// <summary>As above, also giving when the token was issued (milliseconds since the epoch) and its session.</summary>
    public string? ValidateAccessToken(string token, out string failure, out long issuedAt, out string? sessionId) =>
        Validate(token, "access", out failure, out issuedAt, out sessionId, out _);

    private string? Validate(string token, string use, out string failure, out long issuedAt, out string? sessionId, out string? tokenId)
    {
        failure = "The access token is invalid.";
        issuedAt = 0;
        sessionId = null;
        tokenId = null;
        var parts = token.Split('.');
        if (parts.Length != 3 || token.Length > 4096) return null;
        try
        {
            using var header = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0]));
            if (header.RootElement.ValueKind != JsonValueKind.Object ||
                ClaimString(header.RootElement, "alg") != Algorithm || ClaimString(header.RootElement, "kid") != _keyId)
            {
                return null;
            }
            var digest = DigestOf(token);
            if (!_verified.ContainsKey(digest))
            {
                var signature = Base64Url.DecodeFromChars(parts[2]);
                var signed = Encoding.ASCII.GetBytes(token.AsSpan(0, parts[0].Length + 1 + parts[1].Length).ToString());
                if (signature.Length != 64 || !Key.VerifyData(signed, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation))
                {
                    return null;
                }
                if (_verified.Count >= MaxVerified) _verified.Clear();
                _verified[digest] = true;
            }
            using var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]));
            var claims = payload.RootElement;
            if (claims.ValueKind != JsonValueKind.Object ||
                ClaimString(claims, "iss") != options.Value.Auth.Issuer || ClaimString(claims, "aud") != options.Value.Auth.Audience ||
                ClaimString(claims, "token_use") != use)
            {
                return null;
            }
            var now = clock.GetUtcNow();
            if (ClaimSeconds(claims, "exp") is not long expSeconds)
            {
                return null;
            }
            if (DateTimeOffset.FromUnixTimeSeconds(expSeconds) + ClockSkew < now)
            {
                failure = "The access token has expired.";
                return null;
            }
            // nbf is optional, but when present it must be a time and must have come.
            if (claims.TryGetProperty("nbf", out _) &&
                (ClaimSeconds(claims, "nbf") is not long nbfSeconds || DateTimeOffset.FromUnixTimeSeconds(nbfSeconds) - ClockSkew > now))
            {
                return null;
            }
            issuedAt = claims.TryGetProperty("iat_ms", out var ms) && ms.ValueKind == JsonValueKind.Number && ms.TryGetInt64(out var issuedMs)
                ? issuedMs
                : (ClaimSeconds(claims, "iat") ?? 0) * 1000;
            sessionId = ClaimString(claims, "sid");
            tokenId = ClaimString(claims, "jti");
            var sub = ClaimString(claims, "sub");
            return string.IsNullOrEmpty(sub) ? null : sub;
        }
        catch (Exception ex) when (ex is FormatException or JsonException or CryptographicException or ArgumentException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>A NumericDate claim in seconds, or null when absent, not an integer or out of range.</summary>
    private static long? ClaimSeconds(JsonElement claims, string name) =>
        claims.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var seconds)
            && seconds is > 0 and < 253_402_300_800 ? seconds : null;

    private static string? ClaimString(JsonElement claims, string name) =>
        claims.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>The public key as a JSON Web Key Set.</summary>
    public JsonWebKeySet Jwks()
    {
        var p = Key.ExportParameters(false);
        return new JsonWebKeySet([new JsonWebKey("EC", "P-256", "sig", Algorithm, _keyId, Base64Url.EncodeToString(p.Q.X!), Base64Url.EncodeToString(p.Q.Y!))]);
    }
}
