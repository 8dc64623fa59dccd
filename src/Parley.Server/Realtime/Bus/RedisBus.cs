using Parley.Server.Configuration;
using StackExchange.Redis;
using StackExchange.Redis.KeyspaceIsolation;

namespace Parley.Server.Realtime.Bus;

/// <summary>
/// The bus over Redis pub/sub (what ElastiCache runs on AWS). Each node subscribes to
/// <c>parley:node:&lt;id&gt;</c> and <c>parley:all</c>; live nodes are members of the sorted set
/// <c>parley:nodes</c> scored by when their registration expires, and a node's claims are the set
/// <c>parley:claims:&lt;id&gt;</c>, which expires with it. Redis runs one command at a time, so a
/// claim acknowledged by Redis is seen by every lookup that starts afterwards.
/// <para>
/// A connection's <c>channelPrefix</c> names the cluster on a shared Redis: it prefixes the keys
/// as well as the channels, so clusters whose nodes share ids (two environments, or two test
/// clusters) never read or clear each other's registrations and claims.
/// </para>
/// </summary>
internal sealed class RedisBus : RemoteBus
{
    private readonly string _configuration;
    private readonly Lock _dispatch = new();
    private ConnectionMultiplexer? _redis;
    /// <summary>For keys: under the cluster's prefix, if it has one (set once connected).</summary>
    private IDatabase? _keys;

    public RedisBus(string nodeId, string configuration, ClusterOptions options, TimeProvider clock, ILogger<RedisBus> logger)
        : base(nodeId, options, clock, logger)
    {
        _configuration = configuration;
    }

    public override string Name => "Redis";

    /// <summary>For publishing: the multiplexer prefixes channels itself.</summary>
    private IDatabase Publisher => _redis!.GetDatabase();

    private IDatabase Keys => _keys!;

    private long NowMs => Clock.GetUtcNow().ToUnixTimeMilliseconds();

    protected override async Task ConnectAsync(CancellationToken ct)
    {
        var settings = ConfigurationOptions.Parse(_configuration);
        settings.AbortOnConnectFail = false;
        var prefix = settings.ChannelPrefix is { } channelPrefix ? channelPrefix.ToString() : "";
        // Named for operators (CLIENT LIST), with the cluster's prefix where several share the server.
        settings.ClientName ??= "parley-" + prefix + NodeId;
        _redis = await ConnectionMultiplexer.ConnectAsync(settings).ConfigureAwait(false);
        _keys = prefix.Length == 0 ? _redis.GetDatabase() : _redis.GetDatabase().WithKeyPrefix(prefix);
        _redis.ConnectionFailed += (_, e) => BusLog.ConnectionFailed(Logger, e.Exception ?? new InvalidOperationException("Redis connection lost: " + e.FailureType), Name);
        // Subscriptions come back by themselves; what was published meanwhile is lost.
        _redis.ConnectionRestored += (_, e) =>
        {
            if (e.ConnectionType == ConnectionType.Subscription) OnReconnected();
        };
        var subscriber = _redis.GetSubscriber();
        foreach (var channel in new[] { BusChannels.RedisNode(NodeId), BusChannels.RedisAll })
        {
            // A queue per channel hands messages over one at a time, in order.
            var queue = await subscriber.SubscribeAsync(RedisChannel.Literal(channel)).ConfigureAwait(false);
            queue.OnMessage(message =>
            {
                lock (_dispatch) Dispatch(message.Message.ToString());
            });
        }
        await Keys.KeyDeleteAsync(BusChannels.RedisClaims(NodeId)).ConfigureAwait(false);
    }

    protected override async Task PublishAsync(IReadOnlyList<Outgoing> batch)
    {
        var db = Publisher;
        var sends = new Task[batch.Count];
        // Pipelined on one connection: they leave, and are published, in this order.
        for (var i = 0; i < batch.Count; i++)
        {
            var channel = batch[i].Node is { } node ? BusChannels.RedisNode(node) : BusChannels.RedisAll;
            sends[i] = db.PublishAsync(RedisChannel.Literal(channel), batch[i].Wire(NodeId));
        }
        await Task.WhenAll(sends).ConfigureAwait(false);
    }

    protected override async Task WriteClaimsAsync(string[] users, bool[] held)
    {
        var key = (RedisKey)BusChannels.RedisClaims(NodeId);
        var add = users.Where((_, i) => held[i]).Select(u => (RedisValue)u).ToArray();
        var remove = users.Where((_, i) => !held[i]).Select(u => (RedisValue)u).ToArray();
        var db = Keys;
        var writes = new List<Task>();
        if (add.Length > 0) writes.Add(db.SetAddAsync(key, add));
        if (remove.Length > 0) writes.Add(db.SetRemoveAsync(key, remove));
        writes.Add(db.KeyExpireAsync(key, Ttl));
        await Task.WhenAll(writes).ConfigureAwait(false);
    }

    protected override async Task<HashSet<string>> HeartbeatAsync()
    {
        var db = Keys;
        var now = NowMs;
        var register = db.SortedSetAddAsync(BusChannels.RedisNodes, NodeId, now + (long)Ttl.TotalMilliseconds);
        var renew = db.KeyExpireAsync(BusChannels.RedisClaims(NodeId), Ttl);
        var prune = db.SortedSetRemoveRangeByScoreAsync(BusChannels.RedisNodes, double.NegativeInfinity, now - 60_000);
        var live = await LiveNodesAsync(db).ConfigureAwait(false);
        await Task.WhenAll(register, renew, prune).ConfigureAwait(false);
        return live;
    }

    private async Task<HashSet<string>> LiveNodesAsync(IDatabase db)
    {
        var members = await db.SortedSetRangeByScoreAsync(BusChannels.RedisNodes, NowMs, double.PositiveInfinity).ConfigureAwait(false);
        return members.Select(m => m.ToString()).Where(n => n != NodeId).ToHashSet();
    }

    protected override async Task LeaveAsync()
    {
        var db = Keys;
        await Task.WhenAll(
            db.KeyDeleteAsync(BusChannels.RedisClaims(NodeId)),
            db.SortedSetRemoveAsync(BusChannels.RedisNodes, NodeId),
            Publisher.PublishAsync(RedisChannel.Literal(BusChannels.RedisAll), BusChannels.Encode(BusChannels.Leaving, NodeId, ""))).ConfigureAwait(false);
    }

    protected override async Task<IReadOnlyDictionary<string, string[]>> LocateCoreAsync(IReadOnlyCollection<string> userIds)
    {
        var db = Keys;
        var nodes = (await LiveNodesAsync(db).ConfigureAwait(false)).ToArray();
        var users = userIds.Select(u => (RedisValue)u).ToArray();
        var lookups = nodes.Select(n => users.Length == 0 ? Task.FromResult(Array.Empty<bool>()) : db.SetContainsAsync(BusChannels.RedisClaims(n), users)).ToArray();
        var held = await Task.WhenAll(lookups).ConfigureAwait(false);
        var located = new Dictionary<string, string[]>();
        for (var i = 0; i < nodes.Length; i++)
        {
            located[nodes[i]] = users.Where((_, j) => held[i][j]).Select(u => u.ToString()).ToArray();
        }
        return located;
    }

    protected override async Task<IReadOnlyList<(string NodeId, string UserId)>> ClaimsElsewhereCoreAsync()
    {
        var db = Keys;
        var nodes = (await LiveNodesAsync(db).ConfigureAwait(false)).ToArray();
        var members = await Task.WhenAll(nodes.Select(n => db.SetMembersAsync(BusChannels.RedisClaims(n)))).ConfigureAwait(false);
        return nodes.SelectMany((n, i) => members[i].Select(u => (n, u.ToString()))).ToList();
    }

    public override async ValueTask DisposeAsync()
    {
        if (_redis is not null) await _redis.DisposeAsync().ConfigureAwait(false);
    }
}
