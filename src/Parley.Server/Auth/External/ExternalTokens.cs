using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Parley.Server.Configuration;

namespace Parley.Server.Auth.External;

public enum ExternalTokenKind { Access, Id }

/// <summary>A checked token of an external issuer: who it is and the claims a new account is made from.</summary>
public sealed record ExternalToken(string Issuer, string Subject, ExternalTokenKind Kind, long IssuedAtMs, JsonWebToken Jwt);

/// <summary>
/// Checks tokens of the configured external issuers: signature by a key of the issuer's JWKS with
/// an asymmetric algorithm (so <c>alg: none</c> and HMAC are refused), issuer, expiry and not-before
/// with 30 seconds of skew, then the kind of token and who it was issued to:
/// <list type="bullet">
/// <item>Cognito says the kind in <c>token_use</c>: an access token names its app client in
/// <c>client_id</c> (it has no <c>aud</c>), an id token in <c>aud</c>; both are checked against
/// <see cref="ExternalIssuerOptions.ClientIds"/>.</item>
/// <item>Other issuers: a token typed <c>at+jwt</c> (RFC 9068), or without the id token's
/// <c>nonce</c>/<c>at_hash</c>, is an access token and its <c>aud</c> must be one of
/// <see cref="ExternalIssuerOptions.Audiences"/>; an id token's <c>aud</c> one of the client ids.</item>
/// </list>
/// As with Parley's own tokens, the API and the WebSocket take access tokens only; an id token is
/// taken only where its profile claims are wanted (<c>POST /auth/external</c>).
/// </summary>
public sealed class ExternalTokens
{
    public const string Invalid = "The access token is invalid.";
    public const string Expired = "The access token has expired.";
    public const string IdTokenNotAccepted = "This is an id token; send the access token.";
    public const string AccessTokenNotAccepted = "This is an access token; send the id token.";

    private const int MaxTokenLength = 16 * 1024;
    private static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);
    private static readonly string[] Algorithms =
    [
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
    ];

    private readonly Dictionary<string, ExternalIssuerKeys> _issuers;
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };

    public ExternalTokens(IOptions<ParleyOptions> options, IHttpClientFactory httpClients, TimeProvider clock, ILogger<ExternalTokens> logger)
    {
        _issuers = new Dictionary<string, ExternalIssuerKeys>(StringComparer.Ordinal);
        foreach (var issuer in options.Value.Auth.ExternalIssuers)
        {
            if (string.IsNullOrWhiteSpace(issuer.Issuer))
            {
                throw new InvalidOperationException("Parley:Auth:ExternalIssuers: every issuer needs its Issuer URL.");
            }
            if (issuer.Audiences.Count == 0 && issuer.ClientIds.Count == 0)
            {
                throw new InvalidOperationException($"Parley:Auth:ExternalIssuers: issuer {issuer.Issuer} needs Audiences or ClientIds, " +
                    "or it would take tokens issued to any application.");
            }
            _issuers[issuer.Issuer] = new ExternalIssuerKeys(issuer, httpClients.CreateClient(nameof(ExternalTokens)), clock, logger);
        }
    }

    public bool Enabled => _issuers.Count > 0;

    /// <summary>Whether the token claims to come from a configured external issuer (unchecked: only
    /// to tell which validation applies).</summary>
    public bool IsFromExternalIssuer(string token)
    {
        if (_issuers.Count == 0 || token.Length > MaxTokenLength) return false;
        return Read(token) is { } jwt && _issuers.ContainsKey(jwt.Issuer);
    }

    /// <summary>The checked token, or null with the reason to answer with.</summary>
    public async Task<(ExternalToken? Token, string Failure)> ValidateAsync(string token, ExternalTokenKind wanted, CancellationToken ct)
    {
        if (token.Length > MaxTokenLength || Read(token) is not { } jwt || !_issuers.TryGetValue(jwt.Issuer, out var issuerKeys))
        {
            return (null, Invalid);
        }
        // The algorithm is pinned before any key is looked up: nothing unsigned or symmetric gets further.
        if (!Algorithms.Contains(jwt.Alg, StringComparer.Ordinal)) return (null, Invalid);
        var kid = string.IsNullOrEmpty(jwt.Kid) ? null : jwt.Kid;
        var keys = await issuerKeys.KeysForAsync(kid, ct).ConfigureAwait(false);
        if (keys.Count == 0) return (null, Invalid);

        var issuer = issuerKeys.Issuer;
        var parameters = new TokenValidationParameters
        {
            ValidIssuer = issuer.Issuer,
            ValidateIssuer = true,
            // Checked below, by kind: a Cognito access token has client_id instead of aud.
            ValidateAudience = false,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ClockSkew = ClockSkew,
            IssuerSigningKeys = keys,
            TryAllIssuerSigningKeys = kid is null,
            ValidAlgorithms = Algorithms,
        };
        TokenValidationResult result;
        try
        {
            result = await _handler.ValidateTokenAsync(jwt, parameters).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ArgumentException or SecurityTokenException or FormatException)
        {
            return (null, Invalid);
        }
        if (!result.IsValid)
        {
            return (null, result.Exception is SecurityTokenExpiredException ? Expired : Invalid);
        }

        var kind = KindOf(jwt);
        if (kind is null) return (null, Invalid);
        if (kind != wanted) return (null, wanted == ExternalTokenKind.Access ? IdTokenNotAccepted : AccessTokenNotAccepted);
        if (!IssuedToUs(jwt, kind.Value, issuer)) return (null, Invalid);
        if (!jwt.TryGetPayloadValue<string>(issuer.UserIdClaim, out var subject) || string.IsNullOrWhiteSpace(subject) || subject.Length > 256)
        {
            return (null, Invalid);
        }
        var issuedAt = jwt.IssuedAt == DateTime.MinValue ? 0 : new DateTimeOffset(jwt.IssuedAt, TimeSpan.Zero).ToUnixTimeMilliseconds();
        return (new ExternalToken(issuer.Issuer, subject, kind.Value, issuedAt, jwt), "");
    }

    private static JsonWebToken? Read(string token)
    {
        try
        {
            return new JsonWebToken(token);
        }
        catch (Exception ex) when (ex is ArgumentException or SecurityTokenException or FormatException or System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static ExternalTokenKind? KindOf(JsonWebToken jwt)
    {
        if (jwt.TryGetPayloadValue<string>("token_use", out var use))
        {
            return use switch { "access" => ExternalTokenKind.Access, "id" => ExternalTokenKind.Id, _ => null };
        }
        if (jwt.Typ is { } typ && (typ.Equals("at+jwt", StringComparison.OrdinalIgnoreCase) || typ.Equals("application/at+jwt", StringComparison.OrdinalIgnoreCase)))
        {
            return ExternalTokenKind.Access;
        }
        return jwt.TryGetPayloadValue<object>("nonce", out _) || jwt.TryGetPayloadValue<object>("at_hash", out _)
            ? ExternalTokenKind.Id
            : ExternalTokenKind.Access;
    }

    private static bool IssuedToUs(JsonWebToken jwt, ExternalTokenKind kind, ExternalIssuerOptions issuer)
    {
        if (kind == ExternalTokenKind.Id) return jwt.Audiences.Any(issuer.ClientIds.Contains);
        // Cognito: the app client an access token was issued to. Others: the API audience.
        if (jwt.TryGetPayloadValue<string>("token_use", out _) && jwt.TryGetPayloadValue<string>("client_id", out var clientId))
        {
            return issuer.ClientIds.Contains(clientId);
        }
        return jwt.Audiences.Any(issuer.Audiences.Contains);
    }
}
