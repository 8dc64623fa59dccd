using System.Diagnostics;
using System.Text;

namespace Parley.Bench.Infrastructure;

/// <summary>A growable set of seqs (one bit each).</summary>
public sealed class SeqSet
{
    private ulong[] _bits = new ulong[4];

    /// <summary>Adds a seq; false when it was there already (a duplicate).</summary>
    public bool Add(long seq)
    {
        if (seq < 0) return true;
        var word = (int)(seq >> 6);
        if (word >= _bits.Length) Array.Resize(ref _bits, Math.Max(word + 1, _bits.Length * 2));
        var mask = 1UL << (int)(seq & 63);
        if ((_bits[word] & mask) != 0) return false;
        _bits[word] |= mask;
        return true;
    }

    public bool Contains(long seq)
    {
        var word = (int)(seq >> 6);
        return seq >= 0 && word < _bits.Length && (_bits[word] & (1UL << (int)(seq & 63))) != 0;
    }
}

/// <summary>One chat the generator tracks: its members (each with one tracked connection) and every
/// message the server confirmed storing (by ack or REST 201), with its sender.</summary>
public sealed class ChatState(int index, string id, IReadOnlyList<BenchUser> members)
{
    private readonly Lock _gate = new();
    private readonly List<(long Seq, int SenderIndex)> _stored = [];

    public int Index { get; } = index;
    public string Id { get; } = id;
    public byte[] IdUtf8 { get; } = Encoding.UTF8.GetBytes(id);
    public IReadOnlyList<BenchUser> Members { get; } = members;
    /// <summary>The tracked connections of the members (filled as they are created).</summary>
    public List<WsConnection> Receivers { get; } = [];

    internal void AddStored(long seq, int senderIndex)
    {
        lock (_gate) _stored.Add((seq, senderIndex));
    }

    internal void ClearStored()
    {
        lock (_gate) _stored.Clear();
    }

    internal (long Seq, int SenderIndex)[] Stored()
    {
        lock (_gate) return _stored.ToArray();
    }
}

/// <summary>Counts what was sent, confirmed, delivered, lost and duplicated, and times it. Every
/// tracked connection reports its frames here; the final audit checks, message by message and
/// recipient by recipient, that each confirmed message arrived exactly once.</summary>
public sealed class DeliveryTracker
{
    private long _sent;
    private long _stored;
    private long _sendErrors;
    private long _unacked;
    private long _expected;
    private long _unique;
    private long _duplicates;
    private long _ownEchoes;
    private long _foreign;
    private long _lastDeliveryTs;
    private long _firstSendTs;
    private readonly long[] _frames = new long[Enum.GetValues<FrameType>().Length];
    private readonly Lock _errorGate = new();
    private readonly Dictionary<string, long> _errors = new();

    public Histogram EndToEnd { get; private set; } = new();
    /// <summary>The largest end-to-end latency in each second of the measured phase.</summary>
    public LatencyBySecond EndToEndBySecond { get; private set; } = new();
    public Histogram AckLatency { get; private set; } = new();
    /// <summary>How far behind its schedule the generator sent (open-loop rate mode).</summary>
    public Histogram SendLag { get; private set; } = new();

    /// <summary>Forgets everything counted so far (after a warm-up whose sends have all settled).</summary>
    public void Reset(IEnumerable<ChatState> chats)
    {
        foreach (var chat in chats) chat.ClearStored();
        _sent = _stored = _sendErrors = _unacked = _expected = _unique = _duplicates = _ownEchoes = _foreign = _resolved = 0;
        _lastDeliveryTs = _firstSendTs = 0;
        Array.Clear(_frames);
        lock (_errorGate) _errors.Clear();
        EndToEnd = new Histogram();
        EndToEndBySecond = new LatencyBySecond();
        AckLatency = new Histogram();
        SendLag = new Histogram();
        Thread.MemoryBarrier();
    }
    /// <summary>When false, latencies are not recorded (e.g. while catching up after a reconnect).</summary>
    public bool RecordLatency { get; set; } = true;

    public long Sent => Interlocked.Read(ref _sent);
    public long Stored => Interlocked.Read(ref _stored);
    public long SendErrors => Interlocked.Read(ref _sendErrors);
    public long Expected => Interlocked.Read(ref _expected);
    public long UniqueDelivered => Interlocked.Read(ref _unique);
    public long Duplicates => Interlocked.Read(ref _duplicates);
    public long Unacked => Interlocked.Read(ref _unacked);
    public long OwnEchoes => Interlocked.Read(ref _ownEchoes);
    public long Foreign => Interlocked.Read(ref _foreign);
    public long LastDeliveryTimestamp => Interlocked.Read(ref _lastDeliveryTs);
    public long FirstSendTimestamp => Interlocked.Read(ref _firstSendTs);
    public long Frames(FrameType type) => Interlocked.Read(ref _frames[(int)type]);

    public IReadOnlyDictionary<string, long> ErrorCounts()
    {
        lock (_errorGate) return new Dictionary<string, long>(_errors);
    }

    internal void OnFrame(FrameType type) => Interlocked.Increment(ref _frames[(int)type]);

    internal void OnSent(long timestamp)
    {
        if (Interlocked.Increment(ref _sent) == 1) Interlocked.CompareExchange(ref _firstSendTs, timestamp, 0);
    }

    /// <summary>The server confirmed storing a message (ack frame or REST 201).</summary>
    public void OnStored(ChatState chat, long seq, BenchUser sender)
    {
        chat.AddStored(seq, sender.Index);
        Interlocked.Increment(ref _stored);
        var recipients = 0;
        foreach (var member in chat.Members) if (member.Index != sender.Index) recipients++;
        Interlocked.Add(ref _expected, recipients);
    }

    internal void OnSendError(string reason)
    {
        Interlocked.Increment(ref _sendErrors);
        lock (_errorGate) _errors[reason] = _errors.GetValueOrDefault(reason) + 1;
    }

    /// <summary>A send whose fate is unknown (its connection died before the ack).</summary>
    internal void OnUnacked(long count) => Interlocked.Add(ref _unacked, count);

    /// <summary>An unacked send turned out to be stored (the sender's own copy came back through
    /// <c>since</c>): from now on its recipients are owed it like any confirmed message.</summary>
    internal void OnUnackedResolved(ChatState chat, long seq, BenchUser sender)
    {
        Interlocked.Decrement(ref _unacked);
        Interlocked.Increment(ref _resolved);
        OnStored(chat, seq, sender);
    }

    private long _resolved;
    /// <summary>Unacked sends found stored afterwards (their seq learned from the sender's own copy).</summary>
    public long Resolved => Interlocked.Read(ref _resolved);

    internal void OnDelivered(bool fresh, long sendTicks, long now)
    {
        if (fresh)
        {
            Interlocked.Increment(ref _unique);
            if (RecordLatency && sendTicks > 0)
            {
                EndToEnd.RecordTicks(now - sendTicks);
                EndToEndBySecond.Record(now, Histogram.TicksToMicros(now - sendTicks));
            }
            var last = Interlocked.Read(ref _lastDeliveryTs);
            if (now > last) Interlocked.CompareExchange(ref _lastDeliveryTs, now, last);
        }
        else
        {
            Interlocked.Increment(ref _duplicates);
        }
    }

    internal void OnOwnEcho() => Interlocked.Increment(ref _ownEchoes);
    internal void OnForeign() => Interlocked.Increment(ref _foreign);

    /// <summary>True when every confirmed message reached every recipient (by count) and no send is pending.</summary>
    public bool AllDelivered(IEnumerable<WsConnection> senders)
    {
        if (UniqueDelivered < Expected) return false;
        foreach (var c in senders) if (c.PendingCount > 0) return false;
        return true;
    }

    /// <summary>Waits until everything confirmed has arrived, or until nothing has moved (no new
    /// delivery, no new ack) for <paramref name="idle"/>: a server that is behind but still working
    /// gets the time it needs (the run is bounded by its overall timeout).</summary>
    public async Task<bool> DrainAsync(IReadOnlyList<WsConnection> senders, TimeSpan idle, CancellationToken ct)
    {
        var lastProgress = Stopwatch.GetTimestamp();
        var lastUnique = UniqueDelivered;
        var lastStored = Stored;
        while (!AllDelivered(senders))
        {
            var unique = UniqueDelivered;
            var stored = Stored;
            if (unique != lastUnique || stored != lastStored)
            {
                lastProgress = Stopwatch.GetTimestamp();
                lastUnique = unique;
                lastStored = stored;
            }
            else if (Stopwatch.GetElapsedTime(lastProgress) > idle)
            {
                return false;
            }
            await Task.Delay(20, ct);
        }
        return true;
    }

    /// <summary>Message by message, recipient by recipient: how many confirmed deliveries never arrived.</summary>
    public long CountLost(IEnumerable<ChatState> chats)
    {
        long lost = 0;
        foreach (var chat in chats)
        {
            var stored = chat.Stored();
            foreach (var receiver in chat.Receivers)
            {
                var set = receiver.ReceivedIn(chat);
                foreach (var (seq, sender) in stored)
                {
                    if (sender == receiver.User.Index) continue;
                    if (set is null || !set.Contains(seq)) lost++;
                }
            }
        }
        return lost;
    }
}
