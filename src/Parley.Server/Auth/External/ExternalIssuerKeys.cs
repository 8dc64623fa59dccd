using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;
using Parley.Server.Configuration;

namespace Parley.Server.Auth.External;

/// <summary>
/// The signing keys of one external issuer, read from its OIDC discovery document and JWKS and
/// kept in memory. They are read again when they are older than <see cref="MaxAge"/>, and when a
/// token names a key id that is not among them (the issuer rotated its keys), at most once per
/// <see cref="ExternalIssuerOptions.KeyRefreshSeconds"/>; after a failed read, not again for
/// <see cref="FailureBackoff"/>. Only public RSA and EC signing keys are kept.
/// </summary>
public sealed class ExternalIssuerKeys(ExternalIssuerOptions issuer, HttpClient http, TimeProvider clock, ILogger logger)
{
    private static readonly TimeSpan MaxAge = TimeSpan.FromHours(12);
    private static readonly TimeSpan FailureBackoff = TimeSpan.FromSeconds(10);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private IReadOnlyList<SecurityKey> _keys = [];
    /// <summary>When the keys were last read (UTC ticks, 0: never); read without the lock.</summary>
    private long _fetchedAtTicks;
    private DateTimeOffset? _failedAt;
    private DateTimeOffset? _unknownKeyRefreshAt;

    public ExternalIssuerOptions Issuer => issuer;

    private string MetadataAddress => issuer.MetadataAddress
        ?? issuer.Issuer.TrimEnd('/') + "/.well-known/openid-configuration";

    /// <summary>The keys to check a token with: the one named <paramref name="keyId"/> when known,
    /// else every key (a token without <c>kid</c>); empty when the key is unknown even after a refresh.</summary>
    public async Task<IReadOnlyList<SecurityKey>> KeysForAsync(string? keyId, CancellationToken ct)
    {
        var keys = Volatile.Read(ref _keys);
        if (IsFresh() && Contains(keys, keyId)) return Select(keys, keyId);
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            // Another request may have refreshed while this one waited.
            if (IsFresh())
            {
                if (Contains(_keys, keyId)) return Select(_keys, keyId);
                var now = clock.GetUtcNow();
                if (_unknownKeyRefreshAt is { } last && now - last < TimeSpan.FromSeconds(issuer.KeyRefreshSeconds)) return [];
                _unknownKeyRefreshAt = now;
            }
            if (_failedAt is { } failed && clock.GetUtcNow() - failed < FailureBackoff) return Select(_keys, keyId);
            await FetchAsync(ct).ConfigureAwait(false);
            return Select(_keys, keyId);
        }
        finally
        {
            _gate.Release();
        }
    }

    private bool IsFresh()
    {
        var at = Volatile.Read(ref _fetchedAtTicks);
        return at != 0 && clock.GetUtcNow().UtcTicks - at < MaxAge.Ticks;
    }

    private static bool Contains(IReadOnlyList<SecurityKey> keys, string? keyId) =>
        keyId is null ? keys.Count > 0 : keys.Any(k => k.KeyId == keyId);

    private static IReadOnlyList<SecurityKey> Select(IReadOnlyList<SecurityKey> keys, string? keyId) =>
        keyId is null ? keys : keys.Where(k => k.KeyId == keyId).ToList();

    private async Task FetchAsync(CancellationToken ct)
    {
        try
        {
            var retriever = new HttpDocumentRetriever(http) { RequireHttps = issuer.RequireHttps };
            var configuration = await OpenIdConnectConfigurationRetriever.GetAsync(MetadataAddress, retriever, ct).ConfigureAwait(false);
            // OIDC Discovery: the document must name the issuer it was fetched for.
            if (!string.Equals(configuration.Issuer, issuer.Issuer, StringComparison.Ordinal))
            {
                throw new InvalidOperationException("The discovery document names another issuer.");
            }
            var keys = configuration.JsonWebKeySet?.Keys
                .Where(k => k.Kty is JsonWebAlgorithmsKeyTypes.RSA or JsonWebAlgorithmsKeyTypes.EllipticCurve
                    && (string.IsNullOrEmpty(k.Use) || k.Use == JsonWebKeyUseNames.Sig)
                    && !k.HasPrivateKey)
                .ToList<SecurityKey>() ?? [];
            Volatile.Write(ref _keys, keys);
            Volatile.Write(ref _fetchedAtTicks, clock.GetUtcNow().UtcTicks);
            _failedAt = null;
            ExternalAuthLog.KeysFetched(logger, issuer.Issuer, keys.Count);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _failedAt = clock.GetUtcNow();
            ExternalAuthLog.KeysFailed(logger, issuer.Issuer, ex.Message);
        }
    }
}
