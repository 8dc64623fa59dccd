namespace Parley.Server.Realtime;

/// <summary>A frame waiting in a connection's send queue. Most frames are the same bytes for every
/// recipient and are serialized once; a chat summary depends on the reader (unread count) and is
/// rendered by the connection's writer when its turn comes, which keeps the queue's order.</summary>
public sealed class OutboundFrame
{
    private OutboundFrame(long position, ReadOnlyMemory<byte> bytes, Func<string, Task<ReadOnlyMemory<byte>?>>? render, bool isReply = false)
    {
        Position = position;
        Bytes = bytes;
        Render = render;
        IsReply = isReply;
    }

    /// <summary>An answer to the client's own frame (ack, error, pong), counted apart from events.</summary>
    public bool IsReply { get; }

    /// <summary>The event's position in the stream, or 0 for ephemeral frames (typing, presence, acks).</summary>
    public long Position { get; }
    public ReadOnlyMemory<byte> Bytes { get; }
    public Func<string, Task<ReadOnlyMemory<byte>?>>? Render { get; }

    public static OutboundFrame Shared(ReadOnlyMemory<byte> bytes, long position = 0) => new(position, bytes, null);

    public static OutboundFrame Reply(ReadOnlyMemory<byte> bytes) => new(0, bytes, null, isReply: true);

    public static OutboundFrame PerUser(long position, Func<string, Task<ReadOnlyMemory<byte>?>> render) => new(position, default, render);
}
