using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Parley.Server.Configuration;
using Parley.Server.Realtime.Cluster;

namespace Parley.Server.Messages;

/// <summary>Messages per user per second, across all of the user's devices and REST, with a burst of
/// twice the rate. In a cluster each node keeps its own bucket, and a user whose sockets are on k
/// nodes pays k tokens a message on each of them: the nodes share the one allowance without asking
/// each other on every send. (A REST client on a node that holds none of the user's sockets counts
/// that node in too.)</summary>
public sealed class MessageRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter;
    private readonly IPresenceCluster? _cluster;
    private readonly int _burst;

    public MessageRateLimiter(IOptions<ParleyOptions> options, IPresenceCluster? cluster = null)
    {
        var perSecond = Math.Max(1, options.Value.Limits.MessagesPerSecond);
        _burst = perSecond * 2;
        _cluster = cluster;
        // Made once: the partitioner runs on every send, and a lambda made inside it would be a new
        // delegate each time. RateLimitPartition.GetTokenBucketLimiter wraps its factory in one such
        // lambda on every call, so the partition is named with the limiter's own factory instead (the
        // factory itself runs only for a user's first send). As that helper does, the bucket does not
        // refill itself: the partitioned limiter's one timer refills every bucket, where each
        // bucket's own would be a timer a user.
        Func<string, RateLimiter> bucket = _ => new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = _burst,
            TokensPerPeriod = perSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = false,
        });
        _limiter = PartitionedRateLimiter.Create<string, string>(userId => RateLimitPartition.Get(userId, bucket));
    }

    public bool TryTake(string userId)
    {
        var nodes = 1 + (_cluster?.NodesElsewhere(userId) ?? 0);
        using var lease = _limiter.AttemptAcquire(userId, Math.Min(nodes, _burst));
        return lease.IsAcquired;
    }

    public void Dispose() => _limiter.Dispose();
}
