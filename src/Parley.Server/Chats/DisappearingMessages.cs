using Microsoft.Extensions.Options;
using Parley.Server.Common;
using Parley.Server.Configuration;
using Parley.Server.Storage;

namespace Parley.Server.Chats;

/// <summary>Deletes disappearing messages once their time has run out, on every node and backend:
/// the store hands each expired message to one sweeper and announces its end to the chat.</summary>
internal sealed partial class DisappearingMessages(IParleyStore store, TimeProvider clock, IOptions<ParleyOptions> options,
    ILogger<DisappearingMessages> logger) : BackgroundService
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
                    // A full batch means more may be due: go on at once.
                    while (!stoppingToken.IsCancellationRequested && await store.ExpireMessagesAsync(clock.NowMs(), Batch) == Batch) { }
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

    [LoggerMessage(EventId = 2101, Level = LogLevel.Error, Message = "Deleting expired messages failed; the next sweep tries again")]
    private static partial void SweepFailed(ILogger logger, Exception ex);
}
