namespace Parley.Server.Blobs;

/// <summary>Where media bytes live, by key (a media id). The database keeps only what describes
/// them and who may read them; a blob store only stores and returns bytes.</summary>
public interface IBlobStore
{
    /// <summary>Stores (or replaces) the bytes under <paramref name="key"/>.</summary>
    Task PutAsync(string key, byte[] data, string contentType, CancellationToken ct = default);

    /// <summary>The bytes under <paramref name="key"/>, or null when there are none.</summary>
    Task<byte[]?> GetAsync(string key, CancellationToken ct = default);

    /// <summary>Removes the bytes under <paramref name="key"/>; nothing happens when there are none.</summary>
    Task DeleteAsync(string key, CancellationToken ct = default);

    /// <summary>Every key held, with when its bytes were written, in no particular order.</summary>
    IAsyncEnumerable<StoredBlob> ListAsync(CancellationToken ct = default);

    /// <summary>Removes what writes that died half-way left behind, if older than
    /// <paramref name="writtenBefore"/> (a younger one may be a write in progress); returns how many.</summary>
    Task<int> DeleteAbandonedWritesAsync(DateTimeOffset writtenBefore, CancellationToken ct = default);
}

/// <summary>A key the blob store holds and when its bytes were written.</summary>
public sealed record StoredBlob(string Key, DateTimeOffset Written);

public static class BlobKeys
{
    /// <summary>Keys are server-made ids (letters, digits, '_' and '-'); anything else is refused
    /// before it can become a path or an object name.</summary>
    public static bool IsValid(string key) =>
        key.Length is > 0 and <= 200 && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');

    public static string Check(string key)
    {
        if (!IsValid(key))
        {
            throw new ArgumentException("A blob key is made of letters, digits, '_' and '-'.", nameof(key));
        }
        return key;
    }
}

/// <summary>Media ids, which are the keys of the blob store.</summary>
public static class MediaIds
{
    public const string Prefix = "media_";
}
