using System.Globalization;
using System.Text;
using System.Threading.Channels;
using Parley.Server.Realtime.Bus;
using Parley.Server.Storage;

namespace Parley.Server.Realtime.Cluster;

/// <summary>
/// Hands committed events to this node's <see cref="LocalFanOut"/> in position order, merging this
/// node's own commits (from the store's <see cref="EventStream"/>) with the other nodes' (a
/// connection skips any position at or below the last it sent, so order is what keeps a live event
/// from being dropped).
/// <para>
/// After its commits, each node tells every other live node which positions it committed
/// (<c>runs|positions</c>: the runs <c>a-b,c-d</c>, and which of those positions concern the
/// receiver's users, <c>*</c> for all, empty for none); a receiver reads the ones that concern it
/// back from the store. So every node learns of every position, in whatever order the messages
/// arrive, and delivers a position once everything below it is known. A position still unknown
/// after <see cref="GapWait"/> (its node died between its commit and its message, or the message
/// was lost) is read from the store: any position below one that is known has committed. The
/// announcements leave after the commit, outside the store transaction, so they never hold a
/// commit back.
/// </para>
/// </summary>
internal sealed class ClusterDelivery
{
    /// <summary>Above this many positions, catching up is left to the clients: sockets are closed
    /// and they resume from the store.</summary>
    private const long MaxCatchUp = 100_000;
    /// <summary>Own events per announcement; keeps each body far below the bus's limit.</summary>
    private const int MaxAnnounced = 150;
    private static readonly TimeSpan GapWait = TimeSpan.FromSeconds(1);

    private readonly LocalFanOut _fanOut;
    private readonly IClusterEventSource _source;
    private readonly IParleyStore _store;
    private readonly IClusterBus _bus;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly SortedDictionary<long, Block> _blocks = [];
    private readonly Channel<StoredEvent> _own = Channel.CreateUnbounded<StoredEvent>(new UnboundedChannelOptions { SingleReader = true });
    private long _next = long.MaxValue;
    private long _gapSince;

    public ClusterDelivery(LocalFanOut fanOut, IParleyStore store, EventStream events, IClusterBus bus,
        TimeProvider clock, ILogger<ClusterDelivery> logger, IClusterEventSource? source = null)
    {
        _fanOut = fanOut;
        // A store in one node's file cannot be shared: refuse a bus over it at start, plainly.
        _source = source ?? throw new InvalidOperationException(
            "Parley:Cluster:Bus needs a store that every node shares (Parley:Storage:Provider=Postgres); the SQLite store is one node's file.");
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

    private sealed class Block(long first, long last)
    {
        public long First { get; } = first;
        public long Last { get; } = last;
        public IReadOnlyList<StoredEvent>? Events { get; set; }
    }

    /// <summary>Starts delivering after <paramref name="position"/>, the committed position read
    /// after this node joined the bus (every later commit is announced to it).</summary>
    public void Start(long position)
    {
        lock (_gate)
        {
            _next = position + 1;
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
                batch.Clear();
                while (batch.Count < MaxAnnounced && _own.Reader.TryRead(out var e)) batch.Add(e);
                await AnnounceAsync(batch).ConfigureAwait(false);
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
        while (_own.Reader.TryRead(out var e))
        {
            batch.Add(e);
            if (batch.Count == MaxAnnounced)
            {
                await AnnounceAsync(batch).ConfigureAwait(false);
                batch.Clear();
            }
        }
        if (batch.Count > 0) await AnnounceAsync(batch).ConfigureAwait(false);
    }

    // ---- this node's commits --------------------------------------------------------------------

    private void OnOwnEvent(StoredEvent e)
    {
        _own.Writer.TryWrite(e);
        lock (_gate)
        {
            if (e.Pos < _next || Covered(e.Pos)) return;
            _blocks[e.Pos] = new Block(e.Pos, e.Pos) { Events = [e] };
            Pump();
        }
    }

    private async Task AnnounceAsync(List<StoredEvent> events)
    {
        IReadOnlyDictionary<string, string[]> nodes;
        try
        {
            nodes = await _bus.LocateAsync(events.SelectMany(e => e.Recipients).ToHashSet()).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The other nodes read these positions from the store once they have waited long enough.
            BusLog.LocateFailed(_logger, ex);
            return;
        }
        if (nodes.Count == 0) return;
        var runs = new StringBuilder();
        for (var i = 0; i < events.Count; i++)
        {
            var first = events[i].Pos;
            while (i + 1 < events.Count && events[i + 1].Pos == events[i].Pos + 1) i++;
            if (runs.Length > 0) runs.Append(',');
            runs.Append(CultureInfo.InvariantCulture, $"{first}-{events[i].Pos}");
        }
        foreach (var (nodeId, users) in nodes)
        {
            var there = users.ToHashSet();
            var positions = events.Where(e => e.Recipients.Any(there.Contains)).Select(e => e.Pos).ToList();
            var body = new StringBuilder(runs.Length + 16).Append(runs).Append('|');
            if (positions.Count == events.Count) body.Append('*');
            else body.AppendJoin(',', positions.Select(p => p.ToString(CultureInfo.InvariantCulture)));
            _bus.Send(nodeId, BusChannels.Events, body.ToString());
        }
    }

    // ---- other nodes' commits -------------------------------------------------------------------

    private void OnAnnouncement(BusMessage message)
    {
        var bar = message.Body.IndexOf('|', StringComparison.Ordinal);
        if (bar < 0) return;
        var runs = new List<(long First, long Last)>();
        foreach (var run in message.Body[..bar].Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var dash = run.IndexOf('-', StringComparison.Ordinal);
            if (dash < 0 || !long.TryParse(run[..dash], CultureInfo.InvariantCulture, out var first)
                || !long.TryParse(run[(dash + 1)..], CultureInfo.InvariantCulture, out var last) || last < first) return;
            runs.Add((first, last));
        }
        var listed = message.Body[(bar + 1)..];
        var all = listed == "*";
        var positions = all ? [] : listed.Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => long.TryParse(p, CultureInfo.InvariantCulture, out var v) ? v : 0).ToHashSet();
        var loads = new List<(long First, long Last, long[]? Only)>();
        lock (_gate)
        {
            foreach (var (first, last) in runs)
            {
                if (last < _next || Covered(first)) continue;
                var only = all ? null : positions.Where(p => p >= first && p <= last).Order().ToArray();
                var block = new Block(first, last);
                if (only is { Length: 0 }) block.Events = [];
                else loads.Add((first, last, only));
                _blocks[first] = block;
            }
            Pump();
        }
        foreach (var (first, last, only) in loads) _ = LoadAsync(first, last, only);
    }

    /// <summary>After the bus reconnected (messages may have been lost): every position up to the
    /// store's committed one that no known block covers is read from the store.</summary>
    private async Task CatchUpAsync()
    {
        long position;
        try
        {
            position = await _store.CurrentPositionAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Lost?.Invoke("the store could not be read after the bus reconnected");
            BusLog.LoadFailed(_logger, ex, 0, 0);
            return;
        }
        var gaps = new List<(long First, long Last)>();
        lock (_gate)
        {
            if (position - _next + 1 > MaxCatchUp)
            {
                _blocks.Clear();
                _next = position + 1;
                Lost?.Invoke("the bus missed too much to catch up");
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
        }
        foreach (var (first, last) in gaps) _ = LoadAsync(first, last, null);
    }

    /// <summary>Reads a position range that stayed unknown for <see cref="GapWait"/> while a later one is known.</summary>
    private async Task WatchGapsAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200), _clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                (long First, long Last)? gap = null;
                lock (_gate)
                {
                    if (_blocks.Count > 0 && _blocks.First().Value.First > _next && _gapSince != 0
                        && _clock.GetTimestamp() - _gapSince > GapWait.TotalSeconds * _clock.TimestampFrequency)
                    {
                        gap = (_next, _blocks.First().Value.First - 1);
                        _blocks[_next] = new Block(gap.Value.First, gap.Value.Last);
                    }
                }
                if (gap is { } g) await LoadAsync(g.First, g.Last, null).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private async Task LoadAsync(long first, long last, long[]? only)
    {
        IReadOnlyList<StoredEvent> events = [];
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                events = await _source.LoadEventsAsync(first, last, only).ConfigureAwait(false);
                break;
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
                break;
            }
        }
        lock (_gate)
        {
            if (_blocks.TryGetValue(first, out var block)) block.Events = events;
            Pump();
        }
    }

    /// <summary>Whether a known block already covers the position.</summary>
    private bool Covered(long position)
    {
        foreach (var block in _blocks.Values)
        {
            if (block.First > position) return false;
            if (block.Last >= position) return true;
        }
        return false;
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
                if (_gapSince == 0) _gapSince = _clock.GetTimestamp();
                return;
            }
            _gapSince = 0;
            if (head.Events is null) return;
            foreach (var e in head.Events)
            {
                if (e.Pos >= _next) _fanOut.Publish(e);
            }
            _next = head.Last + 1;
            _blocks.Remove(head.First);
        }
        _gapSince = 0;
    }
}
