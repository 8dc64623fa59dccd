using Amazon.DynamoDBv2.Model;
using Microsoft.Extensions.Options;
using Parley.Server.Configuration;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>
/// This node's writers of the event stream. Each writer (a lane) holds a writer number under a
/// lease (an item of <c>Records</c> under <c>pk = "writers"</c>) and writes one chat event at a time:
/// it takes the event's position, stores the event and publishes it before the next, so a writer's
/// events are stored and published in position order. That is what lets a resume cursor say "every
/// event of writer w up to position p has been seen" (<see cref="StreamCursor"/>), with no item that
/// every send writes. A chat's events always go to the same lane (by a hash of its id), so a chat's
/// events on one node are in order too; between nodes, the chat item's conditional position orders them.
/// <para>
/// A lane's position is its last stored event's. It reaches other nodes through its lease item
/// (<c>settled</c>), written with each renewal (every <see cref="RenewEvery"/>) and, in a cluster,
/// before the lane's events are announced to other nodes (<see cref="SettleAsync(int, long)"/>,
/// one write per announcement, however many events it carries); a reader never trusts a writer
/// beyond what it published there. Alone, a node reads its own lanes' positions from memory, so a
/// write costs nothing more than its own items.
/// </para>
/// </summary>
internal sealed class DynamoWriters : IAsyncDisposable
{
    public const string Partition = "writers";
    private static readonly TimeSpan LeaseLength = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan RenewEvery = TimeSpan.FromSeconds(10);
    /// <summary>A lease that ran out is free only after this much longer: a stalled holder's last
    /// write (bounded by the client's request timeout and <see cref="DynamoStore.ClaimDeadline"/>) is over by then.</summary>
    private static readonly TimeSpan TakeoverGrace = TimeSpan.FromSeconds(60);
    private const int MaxWriterNumbers = StreamCursor.MaxWriters;

    private readonly DynamoDatabase _db;
    private readonly ILogger _logger;
    private readonly string _holder = Guid.NewGuid().ToString("N");
    private readonly CancellationTokenSource _stop = new();
    private Lane[] _lanes = [];
    /// <summary>Where each writer number this node took started (see <see cref="WriterStart"/>).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, (long Pos, bool Fresh)> _starts = new();
    private Task? _renewal;

    public DynamoWriters(DynamoDatabase db, IOptions<ParleyOptions> options, ILogger<DynamoWriters> logger)
    {
        _db = db;
        _logger = logger;
        Count = options.Value.Storage.Writers;
        if (Count is < 1 or > StorageOptions.MaxWriters)
        {
            throw new InvalidOperationException($"Parley:Storage:Writers must be between 1 and {StorageOptions.MaxWriters} (it is {Count}).");
        }
    }

    public int Count { get; }

    /// <summary>The clock as positions count it: microseconds since 1970.</summary>
    public static long NowMicros() => Rules.SyncPages.ClockMicros();

    /// <summary>One lane: a writer number, its lease, and the position of its last stored event.</summary>
    internal sealed class Lane(int index)
    {
        public int Index { get; } = index;
        public int Writer { get; set; } = -1;
        public long Position;
        public DateTimeOffset LeaseUntil;
        /// <summary>The highest position written to the lease item as settled.</summary>
        public long SettledWritten;
        /// <summary>One write to the lease item at a time, so its settled position never goes down.</summary>
        public readonly SemaphoreSlim ItemWrites = new(1, 1);
        public readonly OrderedGate Gate = new();
    }

    public async Task StartAsync(CancellationToken ct)
    {
        var lanes = new Lane[Count];
        for (var i = 0; i < Count; i++)
        {
            lanes[i] = new Lane(i);
            await AcquireAsync(lanes[i], ct).ConfigureAwait(false);
        }
        _lanes = lanes;
        _renewal = Task.Run(RenewLoopAsync);
    }

    /// <summary>The lane a chat's events are written by.</summary>
    public Lane LaneOf(string chatId) => _lanes[(int)((uint)StringComparer.Ordinal.GetHashCode(chatId) % (uint)_lanes.Length)];

    /// <summary>Takes the lowest writer number that is free: never used, or whose lease ran out
    /// long enough ago. Its position starts where its last holder settled (never lower).</summary>
    private async Task AcquireAsync(Lane lane, CancellationToken ct)
    {
        var taken = (await _db.QueryAsync(new QueryRequest
        {
            TableName = _db.Records,
            KeyConditionExpression = "pk = :p",
            ExpressionAttributeValues = new() { [":p"] = Item.S(Partition) },
        }).ConfigureAwait(false)).ToDictionary(i => int.Parse(i.Str("sk"), System.Globalization.CultureInfo.InvariantCulture));
        var now = DateTimeOffset.UtcNow;
        for (var number = 0; number < MaxWriterNumbers; number++)
        {
            ct.ThrowIfCancellationRequested();
            if (_lanes.Any(l => l.Writer == number)) continue;
            var until = now + LeaseLength;
            var item = Item.Record(Partition, Key(number));
            item["holder"] = Item.S(_holder);
            item["leaseUntil"] = Item.N(until.ToUnixTimeMilliseconds());
            bool won;
            long settled = 0;
            var fresh = true;
            if (taken.TryGetValue(number, out var old))
            {
                var freeFrom = old.Long("leaseUntil") + (long)TakeoverGrace.TotalMilliseconds;
                if (freeFrom > now.ToUnixTimeMilliseconds()) continue;
                // Every position the last holder could have taken is below the moment its number
                // came free; a holder that died may have stored events there it never announced,
                // so only a number handed back on shutdown starts fresh.
                settled = Math.Max(old.Long("settled"), freeFrom * 1000);
                fresh = old.Bool("released");
                item["settled"] = Item.N(settled);
                won = await _db.PutAsync(_db.Records, item, "leaseUntil = :old",
                    new() { [":old"] = Item.N(old.Long("leaseUntil")) }).ConfigureAwait(false);
            }
            else
            {
                item["settled"] = Item.N(0);
                won = await _db.PutNewAsync(_db.Records, item, "pk").ConfigureAwait(false);
            }
            if (!won) continue;
            lane.Writer = number;
            lane.Position = Math.Max(lane.Position, settled);
            lane.SettledWritten = settled;
            lane.LeaseUntil = until;
            _starts[number] = (lane.Position, fresh);
            return;
        }
        throw new InvalidOperationException($"Every DynamoDB writer number (0 to {MaxWriterNumbers - 1}) is leased: too many nodes or writers per node.");
    }

    private static string Key(int number) => number.ToString("D3", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Where this node's <paramref name="writer"/> started: the position its first event
    /// follows, and whether nothing of an earlier holder can be missing below it.</summary>
    public (long Pos, bool Fresh) WriterStart(int writer) => _starts.TryGetValue(writer, out var start) ? start : default;

    /// <summary>Writes <paramref name="last"/> as the writer's settled position (unless it is
    /// already), so every node's cursor covers it; outside the lane's gate, so a write in progress
    /// never waits for it. A failed condition means it was settled higher already, or the number
    /// changed hands (the lane then takes another).</summary>
    public async ValueTask SettleAsync(int writer, long last)
    {
        var lane = Array.Find(_lanes, l => l.Writer == writer);
        if (lane is null || Interlocked.Read(ref lane.SettledWritten) >= last) return;
        await lane.ItemWrites.WaitAsync().ConfigureAwait(false);
        try
        {
            if (Interlocked.Read(ref lane.SettledWritten) >= last) return;
            await _db.UpdateAsync(_db.Records, Item.Record(Partition, Key(writer)), "SET settled = :settled", "holder = :me AND settled < :settled",
                new() { [":settled"] = Item.N(last), [":me"] = Item.S(_holder) }).ConfigureAwait(false);
            RaiseSettledWritten(lane, last);
        }
        finally
        {
            lane.ItemWrites.Release();
        }
    }

    private static void RaiseSettledWritten(Lane lane, long position)
    {
        var seen = Interlocked.Read(ref lane.SettledWritten);
        while (seen < position)
        {
            var was = Interlocked.CompareExchange(ref lane.SettledWritten, position, seen);
            if (was == seen) return;
            seen = was;
        }
    }

    /// <summary>Whether the lane may still write: its lease has room for a write to finish.</summary>
    public static bool HoldsLease(Lane lane) => lane.LeaseUntil - DateTimeOffset.UtcNow > TimeSpan.FromSeconds(10);

    /// <summary>Extends the lease and writes the lane's position; a lane that lost its lease takes
    /// another number. Called from the renewal loop, under the lane's gate.</summary>
    private async Task RenewAsync(Lane lane)
    {
        var now = DateTimeOffset.UtcNow;
        var until = now + LeaseLength;
        Dictionary<string, AttributeValue>? renewed;
        await lane.ItemWrites.WaitAsync().ConfigureAwait(false);
        try
        {
            // Under the lane's gate nothing of it is in flight, and whatever it writes next takes a
            // position from the clock at least: so it is settled up to now, busy or idle.
            var position = Math.Max(Volatile.Read(ref lane.Position), NowMicros() - 1);
            Volatile.Write(ref lane.Position, position);
            // Never below what SettleAsync wrote.
            position = Math.Max(position, Interlocked.Read(ref lane.SettledWritten));
            renewed = await _db.UpdateAsync(_db.Records, Item.Record(Partition, Key(lane.Writer)),
                "SET leaseUntil = :until, settled = :settled", "holder = :me",
                new() { [":until"] = Item.N(until.ToUnixTimeMilliseconds()), [":settled"] = Item.N(position), [":me"] = Item.S(_holder) }).ConfigureAwait(false);
            if (renewed is not null) RaiseSettledWritten(lane, position);
        }
        finally
        {
            lane.ItemWrites.Release();
        }
        if (renewed is null)
        {
            lane.Writer = -1;
            await AcquireAsync(lane, _stop.Token).ConfigureAwait(false);
            return;
        }
        lane.LeaseUntil = until;
    }

    private async Task RenewLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(RenewEvery, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            foreach (var lane in _lanes)
            {
                using var turn = await lane.Gate.EnterAsync().ConfigureAwait(false);
                try
                {
                    await RenewAsync(lane).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    StorageLog.LeaseRenewalFailed(_logger, ex);
                }
            }
        }
    }

    /// <summary>How far each writer's events are known to be stored, as a cursor: this node's lanes
    /// from memory, the others from their lease items. Its floor is the lowest writer's.</summary>
    public async Task<StreamCursor> SettledAsync()
    {
        var items = await _db.QueryAsync(new QueryRequest
        {
            TableName = _db.Records,
            KeyConditionExpression = "pk = :p",
            ExpressionAttributeValues = new() { [":p"] = Item.S(Partition) },
        }).ConfigureAwait(false);
        var nowMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var grace = (long)TakeoverGrace.TotalMilliseconds;
        // A writer whose lease ran out writes nothing more, and its next holder writes only after the
        // grace, at positions from its clock: the writer is settled up to then.
        var bounds = items.ToDictionary(i => int.Parse(i.Str("sk"), System.Globalization.CultureInfo.InvariantCulture),
            i => i.Long("leaseUntil") + grace < nowMs ? Math.Max(i.Long("settled"), (i.Long("leaseUntil") + grace) * 1000) : i.Long("settled"));
        foreach (var lane in _lanes)
        {
            if (lane.Writer >= 0) bounds[lane.Writer] = Math.Max(bounds.GetValueOrDefault(lane.Writer), Volatile.Read(ref lane.Position));
        }
        if (bounds.Count == 0) return StreamCursor.Start;
        var floor = bounds.Values.Min();
        return StreamCursor.Of(floor, bounds.Select(b => (b.Key, b.Value)));
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        if (_renewal is not null)
        {
            try { await _renewal.ConfigureAwait(false); } catch (OperationCanceledException) { }
        }
        // Hand the numbers back at once: settled where they stand, the lease over, and marked as
        // released (everything announced), so the next holder starts fresh.
        foreach (var lane in _lanes.Where(l => l.Writer >= 0))
        {
            try
            {
                await _db.UpdateAsync(_db.Records, Item.Record(Partition, Key(lane.Writer)),
                    "SET leaseUntil = :gone, settled = :settled, released = :yes", "holder = :me",
                    new()
                    {
                        [":gone"] = Item.N(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - (long)TakeoverGrace.TotalMilliseconds),
                        [":settled"] = Item.N(Math.Max(Volatile.Read(ref lane.Position), Interlocked.Read(ref lane.SettledWritten))),
                        [":yes"] = Item.B(true),
                        [":me"] = Item.S(_holder),
                    }).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is Amazon.Runtime.AmazonServiceException or HttpRequestException or ObjectDisposedException)
            {
                StorageLog.LeaseRenewalFailed(_logger, ex);
            }
        }
        _stop.Dispose();
    }
}
