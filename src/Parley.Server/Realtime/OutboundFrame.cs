using Parley.Server.Storage;

namespace Parley.Server.Realtime;

/// <summary>A frame waiting in a connection's send queue. Most frames are the same bytes for every
/// recipient and are serialized once; a chat summary depends on the reader (unread count) and is
/// rendered by the connection's writer when its turn comes, which keeps the queue's order.</summary>
public sealed class OutboundFrame
{
    private OutboundFrame(StoredEvent? e, ReadOnlyMemory<byte> bytes, Func<string, Task<ReadOnlyMemory<byte>?>>? render, bool isReply = false)
    {
        Position = e?.Pos ?? 0;
        Writer = e?.Writer;
        Bytes = bytes;
        Render = render;
        IsReply = isReply;
    }

    /// <summary>An answer to the client's own frame (ack, error, pong), counted apart from events.</summary>
    public bool IsReply { get; }

    /// <summary>The event's position in the stream, or 0 for ephemeral frames (typing, presence, acks).</summary>
    public long Position { get; }

    /// <summary>The event's writer in a store with several: the connection then adds its own
    /// cursor to the frame (see <see cref="Frames.SharedCursor"/>).</summary>
    public int? Writer { get; }

    public ReadOnlyMemory<byte> Bytes { get; }
    public Func<string, Task<ReadOnlyMemory<byte>?>>? Render { get; }

    /// <summary>An ephemeral frame (typing, presence).</summary>
    public static OutboundFrame Shared(ReadOnlyMemory<byte> bytes) => new(null, bytes, null);

    /// <summary>An event's frame, the same for every recipient.</summary>
    public static OutboundFrame Shared(ReadOnlyMemory<byte> bytes, StoredEvent e) => new(e, bytes, null);

    public static OutboundFrame Reply(ReadOnlyMemory<byte> bytes) => new(null, bytes, null, isReply: true);

    public static OutboundFrame PerUser(StoredEvent e, Func<string, Task<ReadOnlyMemory<byte>?>> render) => new(e, default, render);
}
