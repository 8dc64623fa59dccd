using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Parley.Server.Storage.Rules;

/// <summary>
/// Message ids: <c>msg_</c> and a version 7 UUID (RFC 9562), the creation time in milliseconds
/// followed by 74 random bits, so ids sort roughly by creation and the unique index on them grows
/// at its end.
///
/// <see cref="Guid.CreateVersion7()"/> asks the kernel for its random bits on every call: one
/// system call a message, about a sixth of those a send costs the server. These ids take the same
/// cryptographic random bits from a buffer each thread refills every hundred ids.
/// </summary>
public static class MessageIds
{
    private const string Prefix = "msg_";
    private const int RandomBytesPerId = 10;
    private const int BufferedIds = 100;

    [ThreadStatic] private static byte[]? t_random;
    [ThreadStatic] private static int t_used;

    public static string New() => New(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    /// <summary>An id created at <paramref name="unixMs"/> (milliseconds since 1970, UTC).</summary>
    public static string New(long unixMs)
    {
        Span<byte> uuid = stackalloc byte[16];
        BinaryPrimitives.WriteInt64BigEndian(uuid[..8], unixMs << 16); // 48 bits of time, then 16 overwritten below
        NextRandom().CopyTo(uuid[6..]);
        uuid[6] = (byte)(0x70 | (uuid[6] & 0x0F)); // version 7
        uuid[8] = (byte)(0x80 | (uuid[8] & 0x3F)); // variant 10
        // Written straight into the id's one string: "msg_" and the UUID's 36 characters.
        return string.Create(Prefix.Length + 36, new Guid(uuid, bigEndian: true), static (id, guid) =>
        {
            Prefix.CopyTo(id);
            guid.TryFormat(id[Prefix.Length..], out _);
        });
    }

    private static ReadOnlySpan<byte> NextRandom()
    {
        var buffer = t_random ??= new byte[RandomBytesPerId * BufferedIds];
        if (t_used == 0) RandomNumberGenerator.Fill(buffer);
        var slice = buffer.AsSpan(t_used, RandomBytesPerId);
        t_used = (t_used + RandomBytesPerId) % buffer.Length;
        return slice;
    }
}
