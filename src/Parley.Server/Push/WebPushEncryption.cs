using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Parley.Server.Push;

/// <summary>Message encryption for Web Push (RFC 8291) in the <c>aes128gcm</c> content coding
/// (RFC 8188): an ephemeral P-256 key agreed with the browser's key, mixed with its auth secret, one
/// record. Only the browser that made the subscription can read the payload.</summary>
public static class WebPushEncryption
{
    private const int RecordSize = 4096;
    private const int TagLength = 16;

    public static byte[] Encrypt(ReadOnlySpan<byte> plaintext, byte[] userAgentPublicKey, byte[] authSecret)
    {
        using var ephemeral = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var serverPublicKey = PublicKeyBytes(ephemeral.ExportParameters(false));
        using var userAgentKey = ImportPublicKey(userAgentPublicKey);
        var sharedSecret = ephemeral.DeriveRawSecretAgreement(userAgentKey.PublicKey);
        var salt = RandomNumberGenerator.GetBytes(16);
        var (key, nonce) = DeriveKeyAndNonce(sharedSecret, authSecret, userAgentPublicKey, serverPublicKey, salt);

        // One record: the data, then the delimiter 0x02 that marks the last record (no padding).
        var padded = new byte[plaintext.Length + 1];
        plaintext.CopyTo(padded);
        padded[^1] = 0x02;
        if (padded.Length + TagLength > RecordSize) throw new ArgumentException("The payload is too large for one Web Push record.");
        var ciphertext = new byte[padded.Length];
        var tag = new byte[TagLength];
        using (var aes = new AesGcm(key, TagLength)) aes.Encrypt(nonce, padded, ciphertext, tag);

        // Header: salt (16) | record size (4, big-endian) | key id length (1) | key id (the server's public key).
        var body = new byte[16 + 4 + 1 + serverPublicKey.Length + ciphertext.Length + TagLength];
        salt.CopyTo(body, 0);
        BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(16), RecordSize);
        body[20] = (byte)serverPublicKey.Length;
        serverPublicKey.CopyTo(body, 21);
        ciphertext.CopyTo(body, 21 + serverPublicKey.Length);
        tag.CopyTo(body, 21 + serverPublicKey.Length + ciphertext.Length);
        return body;
    }

    /// <summary>RFC 8291 section 3.4: the input keying material from the shared secret and the auth
    /// secret, then RFC 8188's content encryption key and nonce from it and the salt.</summary>
    internal static (byte[] Key, byte[] Nonce) DeriveKeyAndNonce(byte[] sharedSecret, byte[] authSecret, byte[] userAgentPublicKey, byte[] serverPublicKey, byte[] salt)
    {
        var keyInfo = Concat(Encoding.ASCII.GetBytes("WebPush: info\0"), userAgentPublicKey, serverPublicKey);
        var ikm = HKDF.DeriveKey(HashAlgorithmName.SHA256, sharedSecret, 32, authSecret, keyInfo);
        var prk = HKDF.Extract(HashAlgorithmName.SHA256, ikm, salt);
        var key = HKDF.Expand(HashAlgorithmName.SHA256, prk, 16, Encoding.ASCII.GetBytes("Content-Encoding: aes128gcm\0"));
        var nonce = HKDF.Expand(HashAlgorithmName.SHA256, prk, 12, Encoding.ASCII.GetBytes("Content-Encoding: nonce\0"));
        return (key, nonce);
    }

    /// <summary>A P-256 public key from its uncompressed form (0x04 | X | Y); throws when it is not one.</summary>
    public static ECDiffieHellman ImportPublicKey(byte[] uncompressed)
    {
        if (uncompressed.Length != 65 || uncompressed[0] != 0x04) throw new CryptographicException("Not an uncompressed P-256 point.");
        var key = ECDiffieHellman.Create();
        key.ImportParameters(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = uncompressed[1..33], Y = uncompressed[33..] },
        });
        return key;
    }

    public static byte[] PublicKeyBytes(ECParameters parameters) => Concat([0x04], parameters.Q.X!, parameters.Q.Y!);

    private static byte[] Concat(params byte[][] parts)
    {
        var result = new byte[parts.Sum(p => p.Length)];
        var offset = 0;
        foreach (var part in parts)
        {
            part.CopyTo(result, offset);
            offset += part.Length;
        }
        return result;
    }
}
