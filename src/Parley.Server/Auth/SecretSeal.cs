using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Parley.Server.Configuration;

namespace Parley.Server.Auth;

/// <summary>
/// Secrets the server must read back cannot be hashed: its token signing key, its VAPID key, each
/// account's TOTP secret and each push subscription's auth secret. With <c>Parley:Auth:SecretsKey</c>
/// set, they are sealed with a key made from it (AES-256-GCM) before they reach the store, so a copy of
/// the store (a dump, a backup, a stolen disk) gives none of them: the key lives outside it, in the
/// nodes' settings. Each sealed value is bound to its purpose (and a TOTP secret to its account, a push
/// secret to its endpoint), so one cannot be moved to stand for another. Values stored in clear (before
/// the key was set) or sealed with <c>Parley:Auth:PreviousSecretsKey</c> (before the key was changed)
/// stay readable, and are sealed again with the current key: the server's own keys at start, the rest
/// by the <c>secrets seal</c> command.
/// </summary>
public sealed class SecretSeal
{
    /// <summary>Marks a sealed text value (the signing and VAPID keys, push auth secrets).</summary>
    private const string TextMark = "sealed1:";
    /// <summary>Marks a sealed binary value (a TOTP secret). A clear TOTP secret is 20 bytes, shorter
    /// than any sealed value, so the two cannot be confused.</summary>
    private static readonly byte[] BytesMark = "PS1"u8.ToArray();
    private const int NonceSize = 12;
    private const int TagSize = 16;

    public const string SigningKeyPurpose = "signing key";
    public const string VapidKeyPurpose = "VAPID key";
    private const string CheckPurpose = "sealed secrets";

    private readonly byte[]? _key;
    private readonly byte[]? _previousKey;

    /// <summary>The shortest setting accepted: <c>openssl rand -base64 32</c> gives 44 characters
    /// (256 random bits); a much shorter setting is more likely a word than a key.</summary>
    public const int MinKeyLength = 32;

    public SecretSeal(IOptions<ParleyOptions> options)
    {
        _key = KeyFrom(options.Value.Auth.SecretsKey, "Parley:Auth:SecretsKey");
        _previousKey = KeyFrom(options.Value.Auth.PreviousSecretsKey, "Parley:Auth:PreviousSecretsKey");
        if (_previousKey is not null && _key is null)
        {
            throw new InvalidOperationException("Parley:Auth:PreviousSecretsKey is set without Parley:Auth:SecretsKey: set the new value there, or remove the previous one.");
        }
    }

    /// <summary>True when secrets are sealed before they are stored.</summary>
    public bool Seals => _key is not null;

    private static byte[]? KeyFrom(string? setting, string name)
    {
        setting = setting?.Trim();
        if (string.IsNullOrEmpty(setting)) return null;
        if (setting.Length < MinKeyLength)
        {
            throw new InvalidOperationException($"{name} must be at least {MinKeyLength} random characters (make one with: openssl rand -base64 32).");
        }
        // The AES key is derived from the setting, so any long random text serves (a generated
        // secret of a secrets manager as well as base64).
        return HKDF.DeriveKey(HashAlgorithmName.SHA256, System.Text.Encoding.UTF8.GetBytes(setting), 32, info: "parley sealed secrets v1"u8.ToArray());
    }

    public string SealText(string clear, string purpose) =>
        _key is null ? clear : SealedText(System.Text.Encoding.UTF8.GetBytes(clear), purpose);

    private string SealedText(byte[] clear, string purpose) => TextMark + Convert.ToBase64String(Seal(clear, purpose));

    /// <summary>The clear text of a stored value; a value stored in clear is returned as it is.</summary>
    public string OpenText(string stored, string purpose) => System.Text.Encoding.UTF8.GetString(OpenStoredText(stored, purpose).Clear);

    public byte[] SealBytes(byte[] clear, string purpose) => _key is null ? clear : [.. BytesMark, .. Seal(clear, purpose)];

    /// <summary>The clear bytes of a stored value; a value stored in clear is returned as it is.</summary>
    public byte[] OpenBytes(byte[] stored, string purpose) => OpenStoredBytes(stored, purpose).Clear;

    /// <summary>What to store in place of a stored secret that is in clear or sealed with the previous
    /// key: the same secret sealed with the current key. Null when it is sealed with the current key
    /// already, when no key is set, or for a server secret this server does not seal.</summary>
    public byte[]? Reseal(Storage.StoredSecret stored) =>
        _key is null || PurposeOf(stored) is not { } purpose ? null : Reopen(stored, purpose).Resealed;

    /// <summary>Opens one of the server's own keys as read at start and, when it is in clear or sealed
    /// with the previous key, stores it sealed with the current one: a key set (or changed) later
    /// covers the keys made before it at the next start.</summary>
    public async Task<string> OpenServerKeyAsync(Storage.IParleyStore store, Storage.StoredSecret stored)
    {
        var (clear, resealed) = Reopen(stored, PurposeOf(stored)!);
        if (resealed is not null) await store.ReplaceStoredSecretAsync(stored, resealed);
        return System.Text.Encoding.UTF8.GetString(clear);
    }

    /// <summary>A stored secret opened once: its clear value, and what to store in its place when a
    /// key is set and it is in clear or sealed with the previous key (null otherwise).</summary>
    private (byte[] Clear, byte[]? Resealed) Reopen(Storage.StoredSecret stored, string purpose)
    {
        var isBytes = stored.Kind == Storage.StoredSecretKind.TotpSecret;
        var (clear, withCurrentKey) = isBytes
            ? OpenStoredBytes(stored.Value, purpose)
            : OpenStoredText(System.Text.Encoding.UTF8.GetString(stored.Value), purpose);
        if (_key is null || withCurrentKey) return (clear, null);
        return (clear, isBytes ? SealBytes(clear, purpose) : System.Text.Encoding.UTF8.GetBytes(SealedText(clear, purpose)));
    }

    /// <summary>Refuses a key other than the one the store's secrets were sealed with, at start
    /// rather than at some user's next sign-in: the first start with a key leaves a value sealed
    /// with it in the store, and every start with a key opens it. (A store whose signing key was
    /// made before any key was set has no sealed key to catch a changed one.)</summary>
    public async Task CheckKeyAsync(Storage.IParleyStore store, long now)
    {
        if (_key is null) return;
        var stored = await store.GetOrAddServerSecretAsync(CheckName, SealText("Parley", CheckPurpose), now);
        await OpenServerKeyAsync(store, Storage.StoredSecret.Text(Storage.StoredSecretKind.ServerSecret, CheckName, null, stored));
    }

    /// <summary>The name of the value <see cref="CheckKeyAsync"/> leaves among the server's secrets.</summary>
    public const string CheckName = "secrets-key-check";

    /// <summary>The purpose of an account's TOTP secret: the account's id binds it to that account.</summary>
    public static string TotpPurpose(string userId) => "totp:" + userId;

    /// <summary>The purpose of a push subscription's auth secret: bound to its endpoint.</summary>
    public static string PushPurpose(string endpoint) => "push:" + endpoint;

    private static string? PurposeOf(Storage.StoredSecret stored) => stored.Kind switch
    {
        Storage.StoredSecretKind.SigningKey => SigningKeyPurpose,
        Storage.StoredSecretKind.ServerSecret => stored.Name switch
        {
            Push.VapidKeys.SecretName => VapidKeyPurpose,
            CheckName => CheckPurpose,
            _ => null,
        },
        Storage.StoredSecretKind.TotpSecret => TotpPurpose(stored.Name),
        Storage.StoredSecretKind.PushAuth => PushPurpose(stored.Name),
        _ => null,
    };

    private (byte[] Clear, bool WithCurrentKey) OpenStoredText(string stored, string purpose)
    {
        if (!stored.StartsWith(TextMark, StringComparison.Ordinal)) return (System.Text.Encoding.UTF8.GetBytes(stored), false);
        byte[] sealedValue;
        try
        {
            sealedValue = Convert.FromBase64String(stored[TextMark.Length..]);
        }
        catch (FormatException)
        {
            throw new InvalidOperationException($"The store's {Describe(purpose)} is damaged.");
        }
        return Open(sealedValue, purpose);
    }

    private (byte[] Clear, bool WithCurrentKey) OpenStoredBytes(byte[] stored, string purpose) =>
        stored.Length > BytesMark.Length + NonceSize + TagSize && stored.AsSpan().StartsWith(BytesMark)
            ? Open(stored[BytesMark.Length..], purpose)
            : (stored, false);

    private byte[] Seal(byte[] clear, string purpose)
    {
        var sealedValue = new byte[NonceSize + clear.Length + TagSize];
        var nonce = sealedValue.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key!, TagSize);
        aes.Encrypt(nonce, clear, sealedValue.AsSpan(NonceSize, clear.Length), sealedValue.AsSpan(NonceSize + clear.Length), System.Text.Encoding.UTF8.GetBytes(purpose));
        return sealedValue;
    }

    /// <summary>Opens with the current key, else with the previous one.</summary>
    private (byte[] Clear, bool WithCurrentKey) Open(byte[] sealedValue, string purpose)
    {
        if (_key is null)
        {
            throw new InvalidOperationException($"The store's {Describe(purpose)} is sealed, and Parley:Auth:SecretsKey is not set: set it to the value the store's secrets were sealed with.");
        }
        if (sealedValue.Length < NonceSize + TagSize) throw new InvalidOperationException($"The store's {Describe(purpose)} is damaged.");
        if (TryOpen(_key, sealedValue, purpose) is { } clear) return (clear, true);
        if (_previousKey is not null && TryOpen(_previousKey, sealedValue, purpose) is { } old) return (old, false);
        throw new InvalidOperationException(_previousKey is null
            ? $"Parley:Auth:SecretsKey does not open the store's {Describe(purpose)}: set it to the value the store's secrets were sealed with."
            : $"Neither Parley:Auth:SecretsKey nor Parley:Auth:PreviousSecretsKey opens the store's {Describe(purpose)}: set them to the values the store's secrets were sealed with.");
    }

    private static byte[]? TryOpen(byte[] key, byte[] sealedValue, string purpose)
    {
        var clear = new byte[sealedValue.Length - NonceSize - TagSize];
        try
        {
            using var aes = new AesGcm(key, TagSize);
            aes.Decrypt(sealedValue.AsSpan(0, NonceSize), sealedValue.AsSpan(NonceSize, clear.Length), sealedValue.AsSpan(NonceSize + clear.Length), clear,
                System.Text.Encoding.UTF8.GetBytes(purpose));
            return clear;
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }
    }

    private static string Describe(string purpose) =>
        purpose.StartsWith("totp:", StringComparison.Ordinal) ? "TOTP secret of an account"
        : purpose.StartsWith("push:", StringComparison.Ordinal) ? "auth secret of a push subscription"
        : purpose;
}
