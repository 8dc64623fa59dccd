using Microsoft.Extensions.Options;
using Parley.Server.Configuration;
using Parley.Server.Storage;

namespace Parley.Server.Blobs;

/// <summary>
/// Deletes bytes that no media row describes any more. A row's bytes are deleted right after the
/// commit that deleted the row (<see cref="BlobDeletions"/>); a node that dies in between, or an
/// upload whose row never committed, leaves them behind, and deleted content must not stay. Bytes
/// younger than the grace period are left alone: an upload writes its bytes before its row.
/// Writes that died half-way (a killed process) are removed after the same grace period.
/// Every node may sweep; deleting the same bytes twice is harmless.
/// </summary>
public sealed partial class OrphanBlobSweep(IBlobStore blobs, IMediaStore media, BlobDeletions deletions,
    IOptions<ParleyOptions> options, TimeProvider clock, ILogger<OrphanBlobSweep> logger) : BackgroundService
{
    private const int PageSize = 500;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value.Blobs;
        if (settings.OrphanSweepSeconds <= 0) return;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(settings.OrphanSweepSeconds), clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    var removed = await SweepAsync(stoppingToken);
                    if (removed > 0) Swept(logger, removed);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    SweepFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    /// <summary>One pass over the blob store; returns how many orphans and abandoned writes it deleted.</summary>
    public async Task<int> SweepAsync(CancellationToken ct)
    {
        var cutoff = clock.GetUtcNow() - TimeSpan.FromSeconds(options.Value.Blobs.OrphanGraceSeconds);
        var removed = 0;
        var page = new List<string>(PageSize);
        await foreach (var blob in blobs.ListAsync(ct))
        {
            // Only keys Parley makes (media ids): a bucket may hold other things too.
            if (blob.Written > cutoff || !blob.Key.StartsWith(MediaIds.Prefix, StringComparison.Ordinal)) continue;
            page.Add(blob.Key);
            if (page.Count == PageSize) removed += await DeleteOrphansAsync(page, ct);
        }
        if (page.Count > 0) removed += await DeleteOrphansAsync(page, ct);
        return removed + await blobs.DeleteAbandonedWritesAsync(cutoff, ct);
    }

    private async Task<int> DeleteOrphansAsync(List<string> keys, CancellationToken ct)
    {
        var known = await media.KnownMediaAsync(keys);
        var orphans = keys.Where(key => !known.Contains(key)).ToList();
        keys.Clear();
        if (orphans.Count > 0) await deletions.DeleteAsync(orphans, ct);
        return orphans.Count;
    }

    [LoggerMessage(EventId = 2211, Level = LogLevel.Information, Message = "Deleted the bytes of {Count} media that no row describes, or of writes that died half-way")]
    private static partial void Swept(ILogger logger, int count);

    [LoggerMessage(EventId = 2212, Level = LogLevel.Warning, Message = "A sweep for bytes that no media row describes failed; the next one retries")]
    private static partial void SweepFailed(ILogger logger, Exception ex);
}
