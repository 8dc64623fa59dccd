using Parley.Server.Chats;
using Parley.Server.Storage;

namespace Parley.Server.Realtime;

/// <summary>
/// Delivers committed events to the sockets this node holds. Called on the store's writer in
/// position order, so every connection's queue receives events in cursor order; it only
/// enqueues (never waits on a socket). A payload that reads the same for all recipients is
/// serialized once and shared by every queue.
/// </summary>
public sealed class LocalFanOut
{
    private readonly ConnectionRegistry _registry;
    private readonly ChatSummaries _summaries;

    public LocalFanOut(ConnectionRegistry registry, ChatSummaries summaries, EventStream events)
    {
        _registry = registry;
        _summaries = summaries;
        events.Subscribe(Publish);
    }

    public void Publish(StoredEvent e)
    {
        OutboundFrame? frame = null;
        foreach (var userId in e.Recipients)
        {
            foreach (var connection in _registry.For(userId))
            {
                if (connection.Id == e.OriginConnectionId) continue;
                frame ??= Frame(e);
                connection.Enqueue(frame);
            }
        }
    }

    private OutboundFrame Frame(StoredEvent e)
    {
        var shared = Frames.Shared(e);
        if (shared is not null) return OutboundFrame.Shared(shared, e.Pos);
        return OutboundFrame.PerUser(e.Pos, async userId =>
        {
            var summary = await _summaries.RenderAsync(e.ChatId, userId);
            return summary is null ? null : Frames.Build(Frames.Chat, w => w.WriteRawValue(summary, skipInputValidation: true), e.Pos);
        });
    }

    /// <summary>Sends an ephemeral frame (typing, presence) to every socket of the given users.</summary>
    public void Broadcast(IEnumerable<string> userIds, byte[] bytes)
    {
        var frame = OutboundFrame.Shared(bytes);
        foreach (var userId in userIds)
        {
            foreach (var connection in _registry.For(userId)) connection.Enqueue(frame);
        }
    }
}
