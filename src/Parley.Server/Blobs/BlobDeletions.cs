using System.Collections.Concurrent;

namespace Parley.Server.Blobs;

/// <summary>Deletes the bytes of media whose rows the store has just deleted (an expired message's
/// attachment, a deleted account's photo). The row goes first, in the store's transaction, so no
/// one is served a file that is half gone; the bytes go right after the commit, by the one caller
/// whose transaction deleted the row. A delete that fails (S3 out of reach) is kept and tried again
/// with the next one, and on every sweep of disappearing messages, so deleted content does not stay.</summary>
public sealed partial class BlobDeletions(IBlobStore blobs, ILogger<BlobDeletions> logger)
{
    private readonly ConcurrentDictionary<string, bool> _failed = new(StringComparer.Ordinal);

    public async Task DeleteAsync(IEnumerable<string> keys, CancellationToken ct = default)
    {
        foreach (var key in keys.Concat(_failed.Keys).Distinct(StringComparer.Ordinal).ToList())
        {
            try
            {
                await blobs.DeleteAsync(key, ct).ConfigureAwait(false);
                _failed.TryRemove(key, out _);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _failed[key] = true;
                DeleteFailed(logger, key, ex);
            }
        }
    }

    /// <summary>Tries again the deletes that failed before.</summary>
    public Task RetryAsync(CancellationToken ct = default) => _failed.IsEmpty ? Task.CompletedTask : DeleteAsync([], ct);

    // The key is a server-made media id, safe to log as it is.
    [LoggerMessage(EventId = 2201, Level = LogLevel.Warning, Message = "Deleting the bytes of media {Key} failed; tried again later")]
    private static partial void DeleteFailed(ILogger logger, string key, Exception ex);
}
