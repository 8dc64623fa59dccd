using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Parley.Server.Configuration;

namespace Parley.Server.Auth;

/// <summary>
/// Secrets the server must read back cannot be hashed: its token signing key, its VAPID key and each
/// account's TOTP secret. With <c>Parley:Auth:SecretsKey</c> set, they are sealed with a key made
/// from it (AES-256-GCM) before they reach the store, so a copy of the store (a dump, a backup, a stolen
/// disk) gives none of them: the key lives outside it, in the nodes' settings. Each sealed value is
/// bound to its purpose (and a TOTP secret to its account), so one cannot be moved to stand for another.
/// Values stored before the key was set stay readable as they are.
/// </summary>
public sealed class SecretSeal
{
    /// <summary>Marks a sealed text value (the signing and VAPID keys, stored as text).</summary>
    private const string TextMark = "sealed1:";
    /// <summary>Marks a sealed binary value (a TOTP secret). A clear TOTP secret is 20 bytes, shorter
    /// than any sealed value, so the two cannot be confused.</summary>
    private static readonly byte[] BytesMark = "PS1"u8.ToArray();
    private const int NonceSize = 12;
    private const int TagSize = 16;

    private readonly byte[]? _key;

    /// <summary>The shortest setting accepted: <c>openssl rand -base64 32</c> gives 44 characters
    /// (256 random bits); a much shorter setting is more likely a word than a key.</summary>
    public const int MinKeyLength = 32;

    public SecretSeal(IOptions<ParleyOptions> options)
    {
        var setting = options.Value.Auth.SecretsKey?.Trim();
        if (string.IsNullOrEmpty(setting)) return;
        if (setting.Length < MinKeyLength)
        {
            throw new InvalidOperationException($"Parley:Auth:SecretsKey must be at least {MinKeyLength} random characters (make one with: openssl rand -base64 32).");
        }
        // The AES key is derived from the setting, so any long random text serves (a generated
        // secret of a secrets manager as well as base64).
        _key = HKDF.DeriveKey(HashAlgorithmName.SHA256, System.Text.Encoding.UTF8.GetBytes(setting), 32, info: "parley sealed secrets v1"u8.ToArray());
    }

    public string SealText(string clear, string purpose) =>
        _key is null ? clear : TextMark + Convert.ToBase64String(Seal(System.Text.Encoding.UTF8.GetBytes(clear), purpose));

    /// <summary>The clear text of a stored value; a value stored in clear is returned as it is.</summary>
    public string OpenText(string stored, string purpose)
    {
        if (!stored.StartsWith(TextMark, StringComparison.Ordinal)) return stored;
        byte[] sealedValue;
        try
        {
            sealedValue = Convert.FromBase64String(stored[TextMark.Length..]);
        }
        catch (FormatException)
        {
            throw new InvalidOperationException($"The store's {Describe(purpose)} is damaged.");
        }
        return System.Text.Encoding.UTF8.GetString(Open(sealedValue, purpose));
    }

    public byte[] SealBytes(byte[] clear, string purpose) => _key is null ? clear : [.. BytesMark, .. Seal(clear, purpose)];

    /// <summary>The clear bytes of a stored value; a value stored in clear is returned as it is.</summary>
    public byte[] OpenBytes(byte[] stored, string purpose) =>
        stored.Length > BytesMark.Length + NonceSize + TagSize && stored.AsSpan().StartsWith(BytesMark)
            ? Open(stored[BytesMark.Length..], purpose)
            : stored;

    /// <summary>Refuses a key other than the one the store's secrets were sealed with, at start
    /// rather than at some user's next sign-in: the first start with a key leaves a value sealed
    /// with it in the store, and every start with a key opens it. (A store whose signing key was
    /// made before any key was set has no sealed key to catch a changed one.)</summary>
    public async Task CheckKeyAsync(Storage.IParleyStore store, long now)
    {
        if (_key is null) return;
        const string purpose = "sealed secrets";
        OpenText(await store.GetOrAddServerSecretAsync(CheckName, SealText("Parley", purpose), now), purpose);
    }

    /// <summary>The name of the value <see cref="CheckKeyAsync"/> leaves among the server's secrets.</summary>
    public const string CheckName = "secrets-key-check";

    /// <summary>The purpose of an account's TOTP secret: the account's id binds it to that account.</summary>
    public static string TotpPurpose(string userId) => "totp:" + userId;

    private byte[] Seal(byte[] clear, string purpose)
    {
        var sealedValue = new byte[NonceSize + clear.Length + TagSize];
        var nonce = sealedValue.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key!, TagSize);
        aes.Encrypt(nonce, clear, sealedValue.AsSpan(NonceSize, clear.Length), sealedValue.AsSpan(NonceSize + clear.Length), System.Text.Encoding.UTF8.GetBytes(purpose));
        return sealedValue;
    }

    private byte[] Open(byte[] sealedValue, string purpose)
    {
        if (_key is null)
        {
            throw new InvalidOperationException($"The store's {Describe(purpose)} is sealed, and Parley:Auth:SecretsKey is not set: set it to the value the store's secrets were sealed with.");
        }
        if (sealedValue.Length < NonceSize + TagSize) throw new InvalidOperationException($"The store's {Describe(purpose)} is damaged.");
        var clear = new byte[sealedValue.Length - NonceSize - TagSize];
        try
        {
            using var aes = new AesGcm(_key, TagSize);
            aes.Decrypt(sealedValue.AsSpan(0, NonceSize), sealedValue.AsSpan(NonceSize, clear.Length), sealedValue.AsSpan(NonceSize + clear.Length), clear,
                System.Text.Encoding.UTF8.GetBytes(purpose));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new InvalidOperationException($"Parley:Auth:SecretsKey does not open the store's {Describe(purpose)}: set it to the value the store's secrets were sealed with.");
        }
        return clear;
    }

    private static string Describe(string purpose) => purpose.StartsWith("totp:", StringComparison.Ordinal) ? "TOTP secret of an account" : purpose;
}
