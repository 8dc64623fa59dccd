using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Parley.Server.Common;
using Parley.Server.Storage;

namespace Parley.Server.Push;

/// <summary>The server's VAPID key pair (RFC 8292): made on first start and kept in the store, so
/// every node and every restart signs with the same key and browsers' subscriptions stay valid.</summary>
public sealed class VapidKeys(IParleyStore store, Auth.SecretSeal seal, TimeProvider clock)
{
    /// <summary>The key's name among the server's secrets in the store.</summary>
    public const string SecretName = "vapid";
    private ECDsa? _key;

    /// <summary>The public key as browsers take it (<c>applicationServerKey</c>): base64url of the uncompressed point.</summary>
    public string PublicKey { get; private set; } = "";

    public async Task InitializeAsync()
    {
        using var candidate = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var stored = await store.GetOrAddServerSecretAsync(SecretName, seal.SealText(Convert.ToBase64String(candidate.ExportPkcs8PrivateKey()), Auth.SecretSeal.VapidKeyPurpose), clock.NowMs());
        var key = ECDsa.Create();
        key.ImportPkcs8PrivateKey(Convert.FromBase64String(
            await seal.OpenServerKeyAsync(store, StoredSecret.Text(StoredSecretKind.ServerSecret, SecretName, null, stored))), out _);
        PublicKey = Base64Url.EncodeToString(WebPushEncryption.PublicKeyBytes(key.ExportParameters(false)));
        _key = key;
    }

    /// <summary>The <c>Authorization</c> header value for a request to this push service origin:
    /// <c>vapid t={ES256 JWT}, k={public key}</c>, valid for 12 hours.</summary>
    public string Authorization(Uri endpoint, string subject)
    {
        var key = _key ?? throw new InvalidOperationException("VAPID keys are not loaded yet.");
        var audience = endpoint.GetLeftPart(UriPartial.Authority);
        var header = Base64Url.EncodeToString("""{"typ":"JWT","alg":"ES256"}"""u8);
        var claims = Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["aud"] = audience,
            ["exp"] = clock.GetUtcNow().AddHours(12).ToUnixTimeSeconds(),
            ["sub"] = subject,
        }));
        var signingInput = header + "." + claims;
        // .NET signs in the IEEE P1363 form (r | s), which is what JWS ES256 wants.
        var signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256);
        return $"vapid t={signingInput}.{Base64Url.EncodeToString(signature)}, k={PublicKey}";
    }
}
