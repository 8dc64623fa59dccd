using System.Globalization;
using System.Text;
using System.Threading.Channels;
using Parley.Server.Realtime.Bus;
using Parley.Server.Storage;

namespace Parley.Server.Realtime.Cluster;

/// <summary>
/// Hands committed events to this node's <see cref="LocalFanOut"/>, merging this node's own commits
/// (from the store's <see cref="EventStream"/>) with the other nodes'. Each writer of the store
/// commits its positions in order, and a connection's cursor holds a position per writer, so each
/// writer's events are delivered in position order; and a chat's events are delivered in order
/// across writers: an event waits until the chat's event before it (<see cref="StoredEvent.PrevPos"/>,
/// stored by another writer) has been handed on.
/// <para>
/// After its commits, each node tells every other live node which run of its writer's positions it
/// committed (<c>w:first-last|positions</c>: every position of writer <c>w</c> from <c>first</c> to
/// <c>last</c> is accounted for, and <c>positions</c> are the events that concern the receiver's
/// users, <c>*</c> for all, empty for none; a leading <c>!</c> marks the first run of a new writer);
/// a receiver reads the ones that concern it back from the store, or, where the store cannot be read
/// by writer (DynamoDB), takes them from the announcement, which then carries them after a line break
/// (<see cref="CarriedEvents"/>). Before announcing a run, a node makes it part of every node's
/// cursor (<see cref="IClusterEventSource.SettleAsync"/>). So every node learns of every
/// writer's positions, in whatever order the messages arrive, and delivers a writer's run once
/// everything of that writer below it is known. A range still unknown after
/// <see cref="GapWait"/> while a later one is known, or an event of another writer still awaited
/// after as long (its node died between its commit and its message, or the message was lost), is
/// read from the store: a writer commits its positions in order, so any position below one it
/// committed is settled. Where events are carried, nothing can be read back: a range still unknown
/// after the wait, or a bus that reconnected, closes this node's sockets instead (<see cref="Lost"/>),
/// and their clients resume from the store. The announcements leave after the commit, outside the
/// store transaction, so they never hold a commit back.
/// </para>
/// </summary>
internal sealed class ClusterDelivery
{
    /// <summary>Above this many positions, catching up is left to the clients: sockets are closed
    /// and they resume from the store.</summary>
    private const long MaxCatchUp = 100_000;
    /// <summary>Own events per announcement; keeps each body far below the bus's limit.</summary>
    private const int MaxAnnounced = 150;
    /// <summary>Where announcements carry events: the most message text per announcement (in chars).</summary>
    private const int MaxCarriedChars = 512 * 1024;
    private static readonly TimeSpan GapWait = TimeSpan.FromSeconds(1);
    /// <summary>Where events are carried, waiting ends in closing every socket: wait longer.</summary>
    private static readonly TimeSpan CarriedGapWait = TimeSpan.FromSeconds(3);

    private readonly LocalFanOut _fanOut;
    private readonly IClusterEventSource _source;
    /// <summary>Null when the store cannot be read back by writer: announcements carry the events.</summary>
    private readonly IClusterEventReader? _reader;
    private readonly IParleyStore _store;
    private readonly IClusterBus _bus;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<int, WriterStream> _writers = [];
    private readonly Channel<StoredEvent> _own = Channel.CreateUnbounded<StoredEvent>(new UnboundedChannelOptions { SingleReader = true });
    /// <summary>This node's writers: the last position announced of each (the announcing loop's own).</summary>
    private readonly Dictionary<int, long> _announced = [];
    private StreamCursor? _start;

    public ClusterDelivery(LocalFanOut fanOut, IParleyStore store, EventStream events, IClusterBus bus,
        TimeProvider clock, ILogger<ClusterDelivery> logger, IClusterEventSource? source = null, IClusterEventReader? reader = null)
    {
        _fanOut = fanOut;
        // Refuse a bus over a store that only one node can use, at start, plainly.
        _source = source ?? throw new InvalidOperationException(
            "Parley:Cluster:Bus needs a store every node shares (Parley:Storage:Provider=Postgres or DynamoDb): the SQLite store is one node's file.");
        _reader = reader;
        _store = store;
        _bus = bus;
        _clock = clock;
        _logger = logger;
        events.Subscribe(OnOwnEvent);
        bus.Subscribe(BusChannels.Events, OnAnnouncement);
        bus.Reconnected += () => _ = CatchUpAsync();
    }

    /// <summary>Raised when events may have been missed for good; the handler closes local sockets
    /// so their clients resume from the store.</summary>
    public event Action<string>? Lost;

    /// <summary>A run of one writer's positions, First..Last, and its events once read.</summary>
    private sealed class Block(long first, long last)
    {
        public long First { get; } = first;
        public long Last { get; } = last;
        public IReadOnlyList<StoredEvent>? Events { get; set; }
        /// <summary>Events already handed on (a block waits part-way for another writer's event).</summary>
        public int Done { get; set; }
    }

    /// <summary>What this node knows of one writer's positions.</summary>
    private sealed class WriterStream(long next)
    {
        public SortedDictionary<long, Block> Blocks { get; } = [];
        /// <summary>Every position of the writer below this one has been handed on (or concerns no one here).</summary>
        public long Next { get; set; } = next;
        /// <summary>The end of the last run of this node's own events.</summary>
        public long OwnEnd { get; set; }
        public long GapSince { get; set; }
        /// <summary>The other writer's event the head waits for, and since when.</summary>
        public (int Writer, long Pos)? Awaits { get; set; }
        public long AwaitsSince { get; set; }
    }

    /// <summary>Starts delivering after <paramref name="start"/>, what was committed when this node
    /// had joined the bus (every later commit is announced to it).</summary>
    public void Start(StreamCursor start)
    {
        lock (_gate)
        {
            _start = start;
            Pump();
        }
    }

    /// <summary>Runs until stopped: announces this node's commits, and reads positions left unknown too long.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        var gaps = Task.Run(() => WatchGapsAsync(stopping), CancellationToken.None);
        try
        {
            var batch = new List<StoredEvent>(MaxAnnounced);
            while (await _own.Reader.WaitToReadAsync(stopping).ConfigureAwait(false))
            {
                await AnnounceAsync(NextBatch(batch)).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping: what is still queued goes out in Drain.
        }
        await gaps.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Announces what is still queued (on shutdown, before the bus drains).</summary>
    public async Task DrainAsync()
    {
        var batch = new List<StoredEvent>(MaxAnnounced);
        while (NextBatch(batch).Count > 0) await AnnounceAsync(batch).ConfigureAwait(false);
    }

    /// <summary>Takes the next announcement's events from the queue into <paramref name="batch"/>:
    /// one writer's, up to <see cref="MaxAnnounced"/> (and <see cref="MaxCarriedChars"/> where events
    /// are carried). Empty when nothing is queued.</summary>
    private List<StoredEvent> NextBatch(List<StoredEvent> batch)
    {
        batch.Clear();
        var chars = 0;
        while (batch.Count < MaxAnnounced && _own.Reader.TryPeek(out var next) && (batch.Count == 0 || (next.Writer == batch[0].Writer && !Full(chars, next)))
               && _own.Reader.TryRead(out var e))
        {
            batch.Add(e);
            chars += CarriedChars(e);
        }
        return batch;
    }

    /// <summary>Whether a batch of carried events with <paramref name="chars"/> of text is full before <paramref name="next"/>.</summary>
    private bool Full(int chars, StoredEvent next) => _reader is null && chars + CarriedChars(next) > MaxCarriedChars;

    private static int CarriedChars(StoredEvent e) =>
        e.Message is { } m ? (m.Content?.Length ?? 0) + (m.MediaJson?.Length ?? 0) + (m.ReplyQuote?.Length ?? 0) : 0;

    // ---- this node's commits --------------------------------------------------------------------

    private void OnOwnEvent(StoredEvent e)
    {
        if (e.Writer is not { } writer) return;
        _own.Writer.TryWrite(e);
        lock (_gate)
        {
            if (_start is null) return;
            var stream = Stream(writer);
            // This node's own events come in commit order: nothing of the writer lies between
            // them but positions it left unused (the run starts where its lease began).
            var first = stream.OwnEnd > 0 ? stream.OwnEnd + 1 : Math.Max(stream.Next, _source.WriterStart(writer).Pos + 1);
            stream.OwnEnd = e.Pos;
            if (e.Pos < stream.Next || Covered(stream, e.Pos)) return;
            first = Math.Clamp(first, stream.Next, e.Pos);
            stream.Blocks[first] = new Block(first, e.Pos) { Events = [e] };
            Pump();
        }
    }

    /// <summary>One writer's events (all of one writer, in position order).</summary>
    private async Task AnnounceAsync(List<StoredEvent> events)
    {
        if (events.Count == 0) return;
        var writer = events[0].Writer!.Value;
        var start = _source.WriterStart(writer);
        var fresh = !_announced.TryGetValue(writer, out var announced) && start.Fresh;
        var first = (announced > 0 ? announced : start.Pos) + 1;
        var last = events[^1].Pos;
        _announced[writer] = last;
        try
        {
            // Settled before the recipients are looked up: a socket that opens elsewhere after
            // the lookup finds these events in its backlog.
            await _source.SettleAsync(writer, last).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Never announced unsettled: a socket opening elsewhere meanwhile would read a backlog
            // that stops below them, and never get them. The other nodes read these positions from
            // the store once a later run shows them missing (where events are carried, they close
            // their sockets so clients resume from the store).
            BusLog.SettleFailed(_logger, ex);
            return;
        }
        var run = string.Create(CultureInfo.InvariantCulture, $"{(fresh ? "!" : "")}{writer}:{first}-{last}");
        IReadOnlyDictionary<string, string[]> nodes;
        try
        {
            nodes = await _bus.LocateAsync(events.SelectMany(e => e.Recipients).ToHashSet()).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Not knowing who is where, every node is told of every event: one that misses a run
            // only learns of it from the next, which a quiet chat may not send for a long time.
            BusLog.LocateFailed(_logger, ex);
            _bus.SendToAll(BusChannels.Events, Announcement(run, events, null));
            return;
        }
        foreach (var (nodeId, users) in nodes)
        {
            _bus.Send(nodeId, BusChannels.Events, Announcement(run, events, users.ToHashSet()));
        }
    }

    /// <summary>The announcement of <paramref name="run"/> to a node holding <paramref name="there"/>
    /// (null: any of the events' recipients): the positions that concern it, and where events are
    /// carried, those events with their recipients there.</summary>
    private string Announcement(string run, List<StoredEvent> events, HashSet<string>? there)
    {
        var concerned = there is null ? events : events.Where(e => e.Recipients.Any(there.Contains)).ToList();
        var body = new StringBuilder(run.Length + 16).Append(run).Append('|');
        if (concerned.Count == events.Count) body.Append('*');
        else body.AppendJoin(',', concerned.Select(e => e.Pos.ToString(CultureInfo.InvariantCulture)));
        if (_reader is null && concerned.Count > 0)
        {
            body.Append('\n').Append(CarriedEvents.Write(concerned, there ?? concerned.SelectMany(e => e.Recipients).ToHashSet()));
        }
        return body.ToString();
    }

    // ---- other nodes' commits -------------------------------------------------------------------

    private void OnAnnouncement(BusMessage message)
    {
        if (Parse(message.Body) is not var (fresh, writer, first, last, positions, carried)) return;
        (long First, long Last, long[]? Only)? load = null;
        var missing = false;
        lock (_gate)
        {
            if (_start is null) return;
            var stream = Stream(writer);
            // A new writer has no events below its first run: nothing to wait for there.
            if (fresh && stream.Blocks.Count == 0 && stream.Next < first) stream.Next = first;
            if (last < stream.Next || Covered(stream, first)) return;
            var only = positions?.Where(p => p >= first && p <= last).Order().ToArray();
            var block = new Block(first, last);
            if (only is { Length: 0 }) block.Events = [];
            else if (_reader is not null) load = (first, last, only);
            else
            {
                missing = carried is null;
                block.Events = carried?.Where(e => e.Pos >= first && e.Pos <= last).ToList() ?? [];
            }
            stream.Blocks[first] = block;
            Pump();
        }
        if (missing) Lost?.Invoke("an announcement came without its events");
        if (load is var (f, l, o)) _ = LoadAsync(writer, f, l, o);
    }

    /// <summary>Reads <c>[!]w:first-last|positions</c>, and the events carried after a line break if
    /// any; positions null for <c>*</c>.</summary>
    private static (bool Fresh, int Writer, long First, long Last, HashSet<long>? Positions, List<StoredEvent>? Carried)? Parse(string body)
    {
        List<StoredEvent>? carried = null;
        var lineBreak = body.IndexOf('\n', StringComparison.Ordinal);
        if (lineBreak >= 0)
        {
            carried = CarriedEvents.Read(body[(lineBreak + 1)..]);
            body = body[..lineBreak];
        }
        var bar = body.IndexOf('|', StringComparison.Ordinal);
        if (bar < 0) return null;
        var run = body[..bar];
        var fresh = run.StartsWith('!');
        if (fresh) run = run[1..];
        var colon = run.IndexOf(':', StringComparison.Ordinal);
        var dash = run.IndexOf('-', StringComparison.Ordinal);
        if (colon < 0 || dash < colon
            || !int.TryParse(run[..colon], CultureInfo.InvariantCulture, out var writer)
            || !long.TryParse(run[(colon + 1)..dash], CultureInfo.InvariantCulture, out var first)
            || !long.TryParse(run[(dash + 1)..], CultureInfo.InvariantCulture, out var last) || last < first) return null;
        var listed = body[(bar + 1)..];
        HashSet<long>? positions = listed == "*" ? null : listed.Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => long.TryParse(p, CultureInfo.InvariantCulture, out var v) ? v : 0).ToHashSet();
        return (fresh, writer, first, last, positions, carried);
    }

    /// <summary>After the bus reconnected (messages may have been lost): every writer's positions up
    /// to what the store has committed that no known block covers are read from the store.</summary>
    private async Task CatchUpAsync()
    {
        if (_reader is null)
        {
            await StartOverAsync().ConfigureAwait(false);
            return;
        }
        StreamCursor current;
        try
        {
            current = await _store.CurrentCursorAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Lost?.Invoke("the store could not be read after the bus reconnected");
            BusLog.LoadFailed(_logger, ex, 0, 0);
            return;
        }
        var gaps = new List<(int Writer, long First, long Last)>();
        lock (_gate)
        {
            if (_start is null) return;
            foreach (var writer in current.Entries.Select(e => e.Writer).Concat(_writers.Keys).Distinct().ToList())
            {
                var stream = Stream(writer);
                var upTo = current.Bound(writer);
                if (upTo - stream.Next + 1 > MaxCatchUp)
                {
                    foreach (var s in _writers.Values) s.Blocks.Clear();
                    foreach (var (w, s) in _writers) s.Next = Math.Max(s.Next, current.Bound(w) + 1);
                    Lost?.Invoke("the bus missed too much to catch up");
                    return;
                }
                var cursor = stream.Next;
                foreach (var block in stream.Blocks.Values.ToList())
                {
                    if (block.First > upTo) break;
                    if (block.First > cursor) gaps.Add((writer, cursor, block.First - 1));
                    cursor = Math.Max(cursor, block.Last + 1);
                }
                if (cursor <= upTo) gaps.Add((writer, cursor, upTo));
            }
            foreach (var (writer, first, last) in gaps) _writers[writer].Blocks[first] = new Block(first, last);
        }
        foreach (var (writer, first, last) in gaps) _ = LoadAsync(writer, first, last, null);
    }

    /// <summary>Where events are carried, what the bus missed cannot be read back: other nodes'
    /// writers start over from what the store has settled now, and this node's sockets are closed so
    /// their clients resume from the store.</summary>
    private async Task StartOverAsync()
    {
        try
        {
            var current = await _store.CurrentCursorAsync().ConfigureAwait(false);
            lock (_gate)
            {
                if (_start is null) return;
                _start = current;
                foreach (var (writer, stream) in _writers.ToList())
                {
                    if (stream.OwnEnd == 0) _writers.Remove(writer);
                }
                Pump();
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            BusLog.LoadFailed(_logger, ex, 0, 0);
        }
        Lost?.Invoke("the bus reconnected, and events carried over it may have been missed");
    }

    /// <summary>Reads a range of a writer's positions that stayed unknown for <see cref="GapWait"/>
    /// while a later one is known, or that holds an event another writer's event waits for.</summary>
    private async Task WatchGapsAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200), _clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                var loads = new List<(int Writer, long First, long Last)>();
                lock (_gate)
                {
                    var now = _clock.GetTimestamp();
                    var waited = (long)((_reader is null ? CarriedGapWait : GapWait).TotalSeconds * _clock.TimestampFrequency);
                    foreach (var (writer, stream) in _writers.ToList())
                    {
                        if (stream.Blocks.Count > 0 && stream.Blocks.First().Value.First > stream.Next && stream.GapSince != 0
                            && now - stream.GapSince > waited)
                        {
                            loads.Add((writer, stream.Next, stream.Blocks.First().Value.First - 1));
                        }
                        if (stream.Awaits is var (other, pos) && stream.AwaitsSince != 0 && now - stream.AwaitsSince > waited)
                        {
                            var awaited = Stream(other);
                            var last = awaited.Blocks.Count > 0 ? Math.Min(pos, awaited.Blocks.First().Value.First - 1) : pos;
                            if (last >= awaited.Next) loads.Add((other, awaited.Next, last));
                            stream.AwaitsSince = now;
                        }
                    }
                    foreach (var (writer, first, last) in loads) _writers[writer].Blocks[first] = new Block(first, last);
                }
                foreach (var (writer, first, last) in loads) await LoadAsync(writer, first, last, null).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private async Task LoadAsync(int writer, long first, long last, long[]? only)
    {
        IReadOnlyList<StoredEvent> events = [];
        if (_reader is null) Lost?.Invoke("events announced by another node did not arrive");
        else events = await ReadBackAsync(_reader, writer, first, last, only).ConfigureAwait(false);
        lock (_gate)
        {
            if (_writers.TryGetValue(writer, out var stream) && stream.Blocks.TryGetValue(first, out var block)) block.Events = events;
            Pump();
        }
    }

    /// <summary>The events of a writer's range read back from the store, tried a few times; none
    /// (and <see cref="Lost"/> raised) when the store cannot be read.</summary>
    private async Task<IReadOnlyList<StoredEvent>> ReadBackAsync(IClusterEventReader reader, int writer, long first, long last, long[]? only)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await reader.LoadEventsAsync(writer, first, last, only).ConfigureAwait(false);
            }
            catch (Exception ex) when (attempt < 5 && ex is not OutOfMemoryException)
            {
                BusLog.LoadFailed(_logger, ex, first, last);
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), _clock).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                BusLog.LoadFailed(_logger, ex, first, last);
                Lost?.Invoke("another node's events could not be read");
                return [];
            }
        }
    }

    /// <summary>What this node knows of a writer; one it has not heard of starts where delivery started.</summary>
    private WriterStream Stream(int writer)
    {
        if (!_writers.TryGetValue(writer, out var stream))
        {
            stream = new WriterStream(_start!.Bound(writer) + 1);
            _writers[writer] = stream;
        }
        return stream;
    }

    /// <summary>Whether a known block of the writer already covers the position.</summary>
    private static bool Covered(WriterStream stream, long position)
    {
        foreach (var block in stream.Blocks.Values)
        {
            if (block.First > position) return false;
            if (block.Last >= position) return true;
        }
        return false;
    }

    /// <summary>The other writer's event that <paramref name="e"/> must follow and that has not been
    /// handed on yet, if any.</summary>
    private (int Writer, long Pos)? Awaited(StoredEvent e)
    {
        if (e.PrevWriter is not { } writer || writer == e.Writer || e.PrevPos == 0) return null;
        return Stream(writer).Next <= e.PrevPos ? (writer, e.PrevPos) : null;
    }

    /// <summary>Delivers every block whose turn has come, writer by writer, until none moves. Under
    /// the lock; the fan-out only enqueues.</summary>
    private void Pump()
    {
        if (_start is null) return;
        bool moved;
        do
        {
            moved = false;
            foreach (var stream in _writers.Values.ToList()) moved |= Pump(stream);
        }
        while (moved);
    }

    private bool Pump(WriterStream stream)
    {
        var moved = false;
        while (stream.Blocks.Count > 0)
        {
            var head = stream.Blocks.First().Value;
            if (head.Last < stream.Next)
            {
                stream.Blocks.Remove(head.First);
                continue;
            }
            if (head.First > stream.Next)
            {
                if (stream.GapSince == 0) stream.GapSince = _clock.GetTimestamp();
                return moved;
            }
            stream.GapSince = 0;
            if (head.Events is null) return moved;
            while (head.Done < head.Events.Count)
            {
                var e = head.Events[head.Done];
                if (e.Pos >= stream.Next)
                {
                    if (Awaited(e) is { } awaited)
                    {
                        // Positions before this event are settled; it waits for the chat's event before it.
                        stream.Next = e.Pos;
                        if (stream.Awaits != awaited) stream.AwaitsSince = _clock.GetTimestamp();
                        stream.Awaits = awaited;
                        return moved;
                    }
                    _fanOut.Publish(e);
                    stream.Next = e.Pos + 1;
                    moved = true;
                }
                head.Done++;
            }
            stream.Awaits = null;
            stream.AwaitsSince = 0;
            stream.Next = Math.Max(stream.Next, head.Last + 1);
            stream.Blocks.Remove(head.First);
            moved = true;
        }
        stream.GapSince = 0;
        return moved;
    }
}
