using Parley.Server.Chats;
using Parley.Server.Messages;
using Parley.Server.Realtime.Bus;
using Parley.Server.Realtime.Cluster;
using Parley.Server.Storage;
using Parley.Server.Storage.Rules;

namespace Parley.Server.Realtime;

/// <summary>
/// Delivers committed events to the sockets this node holds. Called by the store after each commit, in
/// position order, so every connection's queue receives each writer's events in order; it only
/// enqueues (never waits on a socket). A payload that reads the same for all recipients is
/// serialized once and shared by every queue.
/// </summary>
public sealed class LocalFanOut
{
    private readonly ConnectionRegistry _registry;
    private readonly ChatSummaries _summaries;
    private readonly IClusterRelay? _relay;

    private readonly IChatStore _store;

    private readonly Operations.ParleyMetrics? _metrics;

    public LocalFanOut(ConnectionRegistry registry, ChatSummaries summaries, IChatStore store, EventStream events, IClusterBus bus, IClusterRelay? relay = null,
        Operations.ParleyMetrics? metrics = null)
    {
        _metrics = metrics;
        _registry = registry;
        _summaries = summaries;
        _store = store;
        _relay = relay;
        // In a cluster, committed events arrive through Cluster/ClusterDelivery instead, merged in
        // position order with the other nodes' events.
        if (!bus.Clustered) events.Subscribe(Publish);
    }

    public void Publish(StoredEvent e)
    {
        OutboundFrame? frame = null;
        var queued = 0;
        // Indexed, not foreach: the recipients are a list interface, whose enumerator is an allocation.
        var recipients = e.Recipients;
        for (var i = 0; i < recipients.Count; i++)
        {
            foreach (var connection in _registry.For(recipients[i]))
            {
                if (connection.IsOrigin(e.OriginConnectionId)) continue;
                frame ??= Frame(e);
                var wasOpen = !connection.IsClosing;
                if (connection.Enqueue(frame))
                {
                    queued++;
                }
                else if (wasOpen)
                {
                    // Its queue was full: the connection is closed as a slow consumer (it resumes with since).
                    _metrics?.SendQueueDrop();
                    _metrics?.SlowConsumerClosed();
                }
            }
        }
        // Counted once per event, not per socket: a group message reaches a thousand queues.
        if (queued > 0 && e.Kind == EventKind.Message) _metrics?.MessagesDelivered(queued);
    }

    private OutboundFrame Frame(StoredEvent e)
    {
        var cursor = Frames.SharedCursor(e);
        var shared = Frames.Shared(e, cursor);
        if (shared is not null) return OutboundFrame.Shared(shared, e);
        if (e.Kind == EventKind.MessageUpdated)
        {
            // The same for every reader, but its status needs the members' watermarks: read them
            // once, off the writer, when the first connection gets to the frame.
            var m = e.Message!;
            var built = new Lazy<Task<(Dictionary<string, MemberRecord> Members, ReadOnlyMemory<byte>? Bytes)>>(async () =>
            {
                var members = await _store.GetMembersAsync(e.ChatId);
                // By user id: a group's every recipient looks itself up.
                return (members.ToDictionary(x => x.UserId), Frames.Build(Frames.MessageUpdated, w => MessageJson.Write(w, m, MessageStatus.ForSender(members, m.SenderId, m.Seq)), cursor));
            });
            return OutboundFrame.PerUser(e, async userId =>
            {
                var (members, bytes) = await built.Value;
                // A member added again after the message was sent does not see it, nor its edits.
                // (An expiry's tombstone carries no position and nothing to see: it goes to all.)
                return !m.Expired && members.GetValueOrDefault(userId) is { } member && !MessageRules.Sees(member, m) ? null : bytes;
            });
        }
        return OutboundFrame.PerUser(e, async userId =>
        {
            var summary = await _summaries.RenderAsync(e.ChatId, userId);
            return summary is null ? null : Frames.Build(Frames.Chat, w => w.WriteRawValue(summary, skipInputValidation: true), cursor);
        });
    }

    /// <summary>Sends an ephemeral frame (typing) to every socket of the given users, on this node
    /// and, in a cluster, on the others.</summary>
    public void Broadcast(IEnumerable<string> userIds, byte[] bytes)
    {
        var users = userIds as IReadOnlyCollection<string> ?? userIds.ToList();
        BroadcastLocal(users, bytes);
        _relay?.Broadcast(users, bytes);
    }

    /// <summary>Sends an ephemeral frame to the given users' sockets on this node only (presence,
    /// which every node announces to its own sockets, and frames relayed from another node).</summary>
    public void BroadcastLocal(IEnumerable<string> userIds, byte[] bytes)
    {
        var frame = OutboundFrame.Shared(bytes);
        foreach (var userId in userIds)
        {
            foreach (var connection in _registry.For(userId)) connection.Enqueue(frame);
        }
    }
}
