namespace Parley.Server.Storage;

internal static partial class StorageLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Error, Message = "A write batch of {Count} operations failed and was rolled back")]
    public static partial void BatchFailed(ILogger logger, Exception ex, int count);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Warning, Message = "A write batch of {Count} operations failed: the store is not answering ({Failure}: {Reason})")]
    private static partial void BatchFailedStoreNotAnswering(ILogger logger, int count, string failure, string reason);

    /// <summary>A failed batch: one line when the store is not answering (the requests answer 503),
    /// the whole exception otherwise.</summary>
    public static void WriteBatchFailed(ILogger logger, Exception ex, int count)
    {
        if (StoreUnavailable.Describe(ex) is { } outage) BatchFailedStoreNotAnswering(logger, count, outage.Failure, outage.Reason);
        else BatchFailed(logger, ex, count);
    }

    [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "Publishing committed events failed; clients will catch up through sync")]
    public static partial void PublishFailed(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Information, Message = "Took {Count} deleted accounts' names off their messages, which a stop or a failure had left under way")]
    public static partial void SenderScrubsResumed(ILogger logger, int count);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Store ready: {Provider} at {Location}")]
    public static partial void StoreReady(ILogger logger, string provider, string location);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "A checkpoint of the write-ahead log failed; the next one retries")]
    public static partial void CheckpointFailed(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "This node's writer lease could not be renewed or taken; the next round retries")]
    private static partial void LeaseFailed(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Warning, Message = "This node's writer lease could not be renewed or taken: the store is not answering ({Failure}: {Reason}); the next round retries")]
    private static partial void LeaseFailedStoreNotAnswering(ILogger logger, string failure, string reason);

    /// <summary>A failed lease round: one line when the store is not answering, the whole exception otherwise.</summary>
    public static void LeaseRenewalFailed(ILogger logger, Exception ex)
    {
        if (StoreUnavailable.Describe(ex) is { } outage) LeaseFailedStoreNotAnswering(logger, outage.Failure, outage.Reason);
        else LeaseFailed(logger, ex);
    }

    [LoggerMessage(EventId = 2006, Level = LogLevel.Warning, Message = "Indexing messages for search failed; later batches and searches retry (logged once a minute while it fails)")]
    public static partial void SearchIndexFailed(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Warning, Message = "Writing the sends' idempotency keys to their table failed; they stay in memory and later batches retry (logged once a minute while it fails)")]
    public static partial void ClientIdsFailed(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Warning, Message = "Committing the search index, the sends' keys or the chats' positions failed; later batches retry (logged once a minute while it fails)")]
    public static partial void IndexCommitFailed(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Warning, Message = "Writing the chats' message positions to their table failed; they stay in memory and later batches retry (logged once a minute while it fails)")]
    public static partial void ChatPositionsFailed(ILogger logger, Exception ex);
}
