namespace Parley.Server.Realtime.Cluster;

internal static partial class ClusterLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Cluster node {NodeId} listening on {Channel} from position {Position}")]
    public static partial void Listening(ILogger logger, string nodeId, string channel, long position);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "The cluster listener connection failed; reconnecting")]
    public static partial void ListenerFailed(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "Cluster heartbeat failed")]
    public static partial void HeartbeatFailed(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Warning, Message = "Registering this node's connections failed")]
    public static partial void RegistrationFailed(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Warning, Message = "Reading another node's events {First}..{Last} failed")]
    public static partial void LoadFailed(ILogger logger, Exception ex, long first, long last);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Warning, Message = "Closing this node's {Count} sockets so their clients resume from the store: {Reason}")]
    public static partial void ClosingAll(ILogger logger, int count, string reason);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Information, Message = "Cluster node {NodeId} is gone; its users' presence is dropped")]
    public static partial void NodeGone(ILogger logger, string nodeId);

    [LoggerMessage(EventId = 4008, Level = LogLevel.Warning, Message = "Sending a cluster notification failed")]
    public static partial void NotifyFailed(ILogger logger, Exception ex);
}
