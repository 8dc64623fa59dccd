using Microsoft.Extensions.Options;
using Parley.Server.Configuration;

namespace Parley.Server.Blobs;

/// <summary>The default blob store: one file per key under <c>blobs/</c> in the data directory,
/// spread over 256 subdirectories by the key's last two characters. A file is written under a
/// temporary name and renamed, so a reader never sees half of one.</summary>
public sealed class DirectoryBlobStore : IBlobStore
{
    private const string TemporarySuffix = ".tmp";
    private readonly string _root;

    public DirectoryBlobStore(IOptions<ParleyOptions> options)
        : this(Path.Combine(Path.GetFullPath(options.Value.DataDirectory), "blobs"))
    {
    }

    public DirectoryBlobStore(string root)
    {
        _root = root;
        Directory.CreateDirectory(_root);
    }

    private string PathOf(string key)
    {
        BlobKeys.Check(key);
        return Path.Combine(_root, key[^Math.Min(2, key.Length)..], key);
    }

    public async Task PutAsync(string key, byte[] data, string contentType, CancellationToken ct = default)
    {
        var path = PathOf(key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = path + "." + Guid.NewGuid().ToString("N") + TemporarySuffix;
        await File.WriteAllBytesAsync(temporary, data, ct).ConfigureAwait(false);
        File.Move(temporary, path, overwrite: true);
    }

    public async Task<byte[]?> GetAsync(string key, CancellationToken ct = default)
    {
        try
        {
            return await File.ReadAllBytesAsync(PathOf(key), ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    public async IAsyncEnumerable<StoredBlob> ListAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        await Task.Yield();
        foreach (var file in Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories))
        {
            ct.ThrowIfCancellationRequested();
            // Temporary files of writes in progress are not keys.
            var key = Path.GetFileName(file);
            if (!BlobKeys.IsValid(key)) continue;
            DateTime written;
            try
            {
                written = File.GetLastWriteTimeUtc(file);
            }
            catch (IOException)
            {
                continue; // deleted meanwhile
            }
            yield return new StoredBlob(key, new DateTimeOffset(written, TimeSpan.Zero));
        }
    }

    /// <summary>A process killed between writing a temporary file and renaming it leaves the file
    /// behind, with (part of) an upload's bytes in it.</summary>
    public Task<int> DeleteAbandonedWritesAsync(DateTimeOffset writtenBefore, CancellationToken ct = default)
    {
        var removed = 0;
        foreach (var file in Directory.EnumerateFiles(_root, "*" + TemporarySuffix, SearchOption.AllDirectories))
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                if (File.GetLastWriteTimeUtc(file) >= writtenBefore.UtcDateTime) continue;
                File.Delete(file);
                removed++;
            }
            catch (IOException)
            {
                // Renamed or deleted meanwhile.
            }
        }
        return Task.FromResult(removed);
    }

    public Task DeleteAsync(string key, CancellationToken ct = default)
    {
        var path = PathOf(key);
        // File.Delete ignores a missing file but not a missing directory.
        if (File.Exists(path)) File.Delete(path);
        return Task.CompletedTask;
    }
}
