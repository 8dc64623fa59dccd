using System.Globalization;
using Npgsql;
using Parley.Server.Storage;
using Parley.Server.Storage.Postgres;

namespace Parley.Server.Realtime.Cluster;

/// <summary>
/// Hands committed events to this node's <see cref="LocalFanOut"/> in position order, merging this
/// node's own commits with other nodes' announcements (a connection skips any position at or below
/// the last it sent, so order is what keeps a live event from being dropped).
/// <para>
/// Positions are contiguous blocks, one per event-creating transaction, committed in position
/// order. This node learns of a block either from its own writer (registered before the COMMIT is
/// sent, filled in after) or from a notification on its channel (<c>e:first:last:positions</c>,
/// sent inside the committing transaction to the nodes holding the recipients). PostgreSQL delivers
/// a listener's notifications in commit order, so when one arrives for a block starting at F, every
/// earlier block meant for this node has already arrived: positions below F that no known block
/// covers concern no one here and are skipped. When this node commits a block and cannot yet tell
/// whether the positions before it are resolved, it also notifies itself (<c>s:first</c>) in the same
/// transaction; hearing it back resolves them. A single node never needs that: its blocks follow
/// one another.
/// </para>
/// </summary>
internal sealed class ClusterDelivery(LocalFanOut fanOut, PostgresStore store, ClusterNode node, ILogger<ClusterDelivery> logger)
    : ICommitObserver
{
    /// <summary>Above this many positions, catching up after a listener outage is left to the
    /// clients: sockets are closed and they resume from the store.</summary>
    private const long MaxCatchUp = 100_000;
    /// <summary>Positions listed in a notification before it says "all of them" (<c>*</c>), to stay
    /// far below the 8,000-byte payload limit.</summary>
    private const int MaxListedPositions = 400;

    private readonly Lock _gate = new();
    private readonly SortedDictionary<long, Block> _blocks = [];
    private long _next = long.MaxValue;
    private long _resolved;

    /// <summary>Raised when events may have been missed for good; the handler closes local sockets
    /// so their clients resume from the store.</summary>
    public event Action<string>? Lost;

    private sealed class Block(long first, long last)
    {
        public long First { get; } = first;
        public long Last { get; } = last;
        public IReadOnlyList<StoredEvent>? Events { get; set; }
    }

    /// <summary>Starts delivering after <paramref name="position"/>, the committed position read
    /// after this node began listening.</summary>
    public void Start(long position)
    {
        lock (_gate)
        {
            _next = position + 1;
            _resolved = _next;
            Pump();
        }
    }

    /// <summary>After the listener reconnected (notifications may have been lost): reads every
    /// position up to <paramref name="position"/> that no known block covers from the store.</summary>
    public void CatchUp(long position)
    {
        var gaps = new List<(long First, long Last)>();
        lock (_gate)
        {
            if (position - _next + 1 > MaxCatchUp)
            {
                _next = position + 1;
                _resolved = _next;
                Pump();
                Lost?.Invoke("the listener missed too much to catch up");
                return;
            }
            var cursor = _next;
            foreach (var block in _blocks.Values.ToList())
            {
                if (block.First > position) break;
                if (block.First > cursor) gaps.Add((cursor, block.First - 1));
                cursor = Math.Max(cursor, block.Last + 1);
            }
            if (cursor <= position) gaps.Add((cursor, position));
            foreach (var (first, last) in gaps) _blocks[first] = new Block(first, last);
            _resolved = Math.Max(_resolved, position + 1);
        }
        foreach (var (first, last) in gaps) _ = LoadAsync(first, last, null);
    }

    public void BeforeCommit(long first, long last, IReadOnlyList<StoredEvent> events, NpgsqlBatchCommandCollection commands)
    {
        bool announceToSelf;
        lock (_gate)
        {
            announceToSelf = ResolvedBelow() < first;
            _blocks[first] = new Block(first, last);
        }
        if (events.Count > 0) commands.Add(NotifyRecipientNodes(first, last, events));
        if (announceToSelf) commands.Add(PgCommands.BatchCommand("SELECT pg_notify($1, $2)", node.Channel, "s:" + first.ToString(CultureInfo.InvariantCulture)));
    }

    public void AfterCommit(long first, long last, IReadOnlyList<StoredEvent> events, bool committed)
    {
        lock (_gate)
        {
            if (!_blocks.TryGetValue(first, out var block) || block.Last != last) return;
            if (committed) block.Events = events;
            else _blocks.Remove(first);
            Pump();
        }
    }

    /// <summary>One notification from this node's channel (called in arrival order).</summary>
    public void OnNotification(string payload)
    {
        var parts = payload.Split(':', 4);
        if (parts[0] == "s" && parts.Length == 2 && long.TryParse(parts[1], CultureInfo.InvariantCulture, out var synced))
        {
            lock (_gate)
            {
                _resolved = Math.Max(_resolved, synced);
                Pump();
            }
        }
        else if (parts[0] == "e" && parts.Length == 4
            && long.TryParse(parts[1], CultureInfo.InvariantCulture, out var first) && long.TryParse(parts[2], CultureInfo.InvariantCulture, out var last))
        {
            long[]? only = parts[3] == "*" ? null : parts[3].Split(',').Select(p => long.Parse(p, CultureInfo.InvariantCulture)).ToArray();
            lock (_gate)
            {
                _resolved = Math.Max(_resolved, first);
                if (last >= _next && !_blocks.ContainsKey(first)) _blocks[first] = new Block(first, last);
                else
                {
                    Pump();
                    return;
                }
                Pump();
            }
            _ = LoadAsync(first, last, only);
        }
    }

    private async Task LoadAsync(long first, long last, long[]? only)
    {
        IReadOnlyList<StoredEvent> events = [];
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                events = await store.LoadEventsAsync(first, last, only).ConfigureAwait(false);
                break;
            }
            catch (Exception ex) when (attempt < 5)
            {
                ClusterLog.LoadFailed(logger, ex, first, last);
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt)).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                ClusterLog.LoadFailed(logger, ex, first, last);
                Lost?.Invoke("another node's events could not be read");
                break;
            }
        }
        lock (_gate)
        {
            if (_blocks.TryGetValue(first, out var block)) block.Events = events;
            Pump();
        }
    }

    /// <summary>Delivers every block whose turn has come. Under the lock; the fan-out only enqueues.</summary>
    private void Pump()
    {
        while (_blocks.Count > 0)
        {
            var head = _blocks.First().Value;
            if (head.Last < _next)
            {
                _blocks.Remove(head.First);
                continue;
            }
            if (head.First > _next)
            {
                if (_resolved <= _next) return;
                _next = Math.Min(_resolved, head.First);
                if (head.First > _next) return;
            }
            if (head.Events is null) return;
            foreach (var e in head.Events) fanOut.Publish(e);
            _next = head.Last + 1;
            _blocks.Remove(head.First);
        }
        if (_resolved > _next) _next = _resolved;
    }

    /// <summary>The lowest position this node cannot yet account for (known blocks count as
    /// accounted for, delivered or not).</summary>
    private long ResolvedBelow()
    {
        var cursor = _next;
        foreach (var block in _blocks.Values)
        {
            if (block.Last < cursor) continue;
            if (block.First > cursor)
            {
                if (_resolved <= cursor) return cursor;
                if (_resolved < block.First) return _resolved;
            }
            cursor = block.Last + 1;
        }
        return Math.Max(cursor, _resolved);
    }

    /// <summary>One statement, in the committing transaction: finds the other nodes holding sockets
    /// of the events' recipients (a chat's members, or the one user an event is addressed to) and
    /// notifies each of the positions that concern it.</summary>
    private NpgsqlBatchCommand NotifyRecipientNodes(long first, long last, IReadOnlyList<StoredEvent> events)
    {
        var positions = new long[events.Count];
        var chats = new string[events.Count];
        var targets = new string?[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            positions[i] = e.Pos;
            chats[i] = e.ChatId;
            targets[i] = e.Kind is EventKind.Status or EventKind.ChatRemoved && e.Recipients.Count > 0 ? e.Recipients[0] : null;
        }
        return PgCommands.BatchCommand(
            $"""
            WITH ev AS (
                SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[]) AS e(pos, chat_id, target)
            ), pairs AS (
                SELECT ev.pos, c.node_id FROM ev
                JOIN members m ON m.chat_id = ev.chat_id
                JOIN connections c ON c.user_id = m.user_id AND c.node_id <> $4 AND c.expires_at > now()
                WHERE ev.target IS NULL
                UNION
                SELECT ev.pos, c.node_id FROM ev
                JOIN connections c ON c.user_id = ev.target AND c.node_id <> $4 AND c.expires_at > now()
            ), per_node AS (
                SELECT node_id, count(*) AS n, string_agg(pos::text, ',' ORDER BY pos) AS list FROM pairs GROUP BY node_id
            )
            SELECT pg_notify('parley_' || md5(node_id), $5 || CASE WHEN n > {MaxListedPositions} THEN '*' ELSE list END) FROM per_node
            """,
            positions, chats, targets, node.NodeId,
            string.Create(CultureInfo.InvariantCulture, $"e:{first}:{last}:"));
    }
}
