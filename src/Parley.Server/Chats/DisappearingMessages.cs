using Microsoft.Extensions.Options;
using Parley.Server.Blobs;
using Parley.Server.Common;
using Parley.Server.Configuration;
using Parley.Server.Storage;

namespace Parley.Server.Chats;

/// <summary>Deletes disappearing messages once their time has run out, on every node and backend:
/// the store hands each expired message to one sweeper and announces its end to the chat. The
/// sweeper that deleted an attachment's last use deletes its bytes from the blob store. Each sweep
/// also finishes deletions that failed part way, so that what a user deleted does not outlive a
/// failure: blob bytes not yet deleted, deleted accounts' names still on their messages.</summary>
internal sealed partial class DisappearingMessages(IParleyStore store, BlobDeletions blobDeletions, TimeProvider clock,
    IOptions<ParleyOptions> options, ILogger<DisappearingMessages> logger) : BackgroundService
{
    private const int Batch = 500;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, options.Value.Retention.SweepSeconds)));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await blobDeletions.RetryAsync(stoppingToken);
                    // A full batch means more may be due: go on at once.
                    while (!stoppingToken.IsCancellationRequested)
                    {
                        var expired = await store.ExpireMessagesAsync(clock.NowMs(), Batch);
                        await blobDeletions.DeleteAsync(expired.ForgottenMedia, stoppingToken);
                        if (expired.Count < Batch) break;
                    }
                }
                // A store call that timed out throws a cancellation too: only the host's is a shutdown.
                catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    SweepFailed(logger, ex);
                }
                // Apart from the expiry: a deletion that keeps failing must not hold it back.
                try
                {
                    var finished = await store.FinishAccountDeletionsAsync(clock.NowMs());
                    await blobDeletions.DeleteAsync(finished.ForgottenMedia, stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    DeletionsFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Error, Message = "Deleting expired messages failed; the next sweep tries again")]
    private static partial void SweepFailed(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Error, Message = "Finishing the deletions of accounts left under way failed; the next sweep tries again")]
    private static partial void DeletionsFailed(ILogger logger, Exception ex);
}
