namespace Parley.Server.Realtime.Bus;

/// <summary>Every log message of the bus and of the cluster logic over it, with stable event ids.</summary>
internal static partial class BusLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Cluster node {NodeId} on the {Bus} bus, delivering after cursor {Cursor}")]
    public static partial void Started(ILogger logger, string nodeId, string bus, string cursor);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "The {Bus} bus connection failed; reconnecting")]
    public static partial void ConnectionFailed(ILogger logger, Exception ex, string bus);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "Cluster heartbeat failed")]
    public static partial void HeartbeatFailed(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Warning, Message = "Registering this node's users on the bus failed")]
    public static partial void ClaimsFailed(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Warning, Message = "Reading other nodes' events {First}..{Last} from the store failed")]
    public static partial void LoadFailed(ILogger logger, Exception ex, long first, long last);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Warning, Message = "Closing this node's {Count} sockets so their clients resume from the store: {Reason}")]
    public static partial void ClosingAll(ILogger logger, int count, string reason);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Information, Message = "Cluster node {NodeId} is gone; its users' presence is dropped")]
    public static partial void NodeGone(ILogger logger, string nodeId);

    [LoggerMessage(EventId = 4008, Level = LogLevel.Warning, Message = "Sending {Count} bus messages failed")]
    public static partial void SendFailed(ILogger logger, Exception ex, int count);

    [LoggerMessage(EventId = 4009, Level = LogLevel.Warning, Message = "Locating users on the other nodes failed")]
    public static partial void LocateFailed(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 4010, Level = LogLevel.Warning, Message = "A bus message for topic {Topic} failed in its handler")]
    public static partial void HandlerFailed(ILogger logger, Exception ex, string topic);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Warning, Message = "The bus's outgoing queue is full; a {Topic} message is dropped")]
    public static partial void QueueFull(ILogger logger, string topic);

    [LoggerMessage(EventId = 4012, Level = LogLevel.Information, Message = "Cluster node {NodeId} stopped: sockets closed, bus drained")]
    public static partial void Stopped(ILogger logger, string nodeId);

    [LoggerMessage(EventId = 4013, Level = LogLevel.Warning, Message = "Settling this node's committed positions failed; their announcement waits for the next run")]
    public static partial void SettleFailed(ILogger logger, Exception ex);
}
