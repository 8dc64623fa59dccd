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
/// (<c>settled</c>), written with each renewal and at most every <see cref="SettleInterval"/> while
/// the lane writes; a reader never trusts a writer beyond what it published there.
/// </para>
/// </summary>
internal sealed class DynamoWriters : IAsyncDisposable
{
    public const string Partition = "writers";
    private static readonly TimeSpan LeaseLength = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan RenewEvery = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan SettleInterval = TimeSpan.FromMilliseconds(200);
    /// <summary>A lease that ran out is free only after this much longer: a stalled holder's last
    /// write (bounded by the client's request timeout and <see cref="DynamoStore.ClaimDeadline"/>) is over by then.</summary>
    private static readonly TimeSpan TakeoverGrace = TimeSpan.FromSeconds(60);
    private const int MaxWriterNumbers = StreamCursor.MaxWriters;

    private readonly DynamoDatabase _db;
    private readonly ILogger _logger;
    private readonly string _holder = Guid.NewGuid().ToString("N");
    private readonly CancellationTokenSource _stop = new();
    private Lane[] _lanes = [];
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
    public static long NowMicros() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / 10;

    /// <summary>One lane: a writer number, its lease, and the position of its last stored event.</summary>
    internal sealed class Lane(int index)
    {
        public int Index { get; } = index;
        public int Writer { get; set; } = -1;
        public long Position;
        public DateTimeOffset LeaseUntil;
        public DateTimeOffset SettleWrittenAt;
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
            if (taken.TryGetValue(number, out var old))
            {
                if (old.Long("leaseUntil") + (long)TakeoverGrace.TotalMilliseconds > now.ToUnixTimeMilliseconds()) continue;
                settled = old.Long("settled");
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
            lane.LeaseUntil = until;
            return;
        }
        throw new InvalidOperationException($"Every DynamoDB writer number (0 to {MaxWriterNumbers - 1}) is leased: too many nodes or writers per node.");
    }

    private static string Key(int number) => number.ToString("D3", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Whether the lane may still write: its lease has room for a write to finish.</summary>
    public static bool HoldsLease(Lane lane) => lane.LeaseUntil - DateTimeOffset.UtcNow > TimeSpan.FromSeconds(10);

    /// <summary>After a lane stored an event: publish its position to other nodes when it is time.</summary>
    public async Task SettledAsync(Lane lane)
    {
        if (DateTimeOffset.UtcNow - lane.SettleWrittenAt < SettleInterval) return;
        await RenewAsync(lane).ConfigureAwait(false);
    }

    /// <summary>Extends the lease and writes the lane's position; a lane that lost its lease takes
    /// another number. Called under the lane's gate or from the renewal loop.</summary>
    private async Task RenewAsync(Lane lane)
    {
        var now = DateTimeOffset.UtcNow;
        var until = now + LeaseLength;
        // Under the lane's gate nothing of it is in flight, and whatever it writes next takes a
        // position from the clock at least: so it is settled up to now, busy or idle.
        var position = Math.Max(Volatile.Read(ref lane.Position), NowMicros() - 1);
        Volatile.Write(ref lane.Position, position);
        var renewed = await _db.UpdateAsync(_db.Records, Item.Record(Partition, Key(lane.Writer)),
            "SET leaseUntil = :until, settled = :settled", "holder = :me",
            new() { [":until"] = Item.N(until.ToUnixTimeMilliseconds()), [":settled"] = Item.N(position), [":me"] = Item.S(_holder) }).ConfigureAwait(false);
        if (renewed is null)
        {
            lane.Writer = -1;
            await AcquireAsync(lane, _stop.Token).ConfigureAwait(false);
            return;
        }
        lane.LeaseUntil = until;
        lane.SettleWrittenAt = now;
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
        // Hand the numbers back at once: settled where they stand, the lease over.
        foreach (var lane in _lanes.Where(l => l.Writer >= 0))
        {
            try
            {
                await _db.UpdateAsync(_db.Records, Item.Record(Partition, Key(lane.Writer)),
                    "SET leaseUntil = :gone, settled = :settled", "holder = :me",
                    new()
                    {
                        [":gone"] = Item.N(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - (long)TakeoverGrace.TotalMilliseconds),
                        [":settled"] = Item.N(Volatile.Read(ref lane.Position)),
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
