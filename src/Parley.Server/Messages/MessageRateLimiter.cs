using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Parley.Server.Configuration;

namespace Parley.Server.Messages;

/// <summary>Messages per user per second, across all of the user's devices and REST, with a burst of twice the rate.</summary>
public sealed class MessageRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter;

    public MessageRateLimiter(IOptions<ParleyOptions> options)
    {
        var perSecond = Math.Max(1, options.Value.Limits.MessagesPerSecond);
        _limiter = PartitionedRateLimiter.Create<string, string>(userId => RateLimitPartition.GetTokenBucketLimiter(userId, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = perSecond * 2,
            TokensPerPeriod = perSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
    }

    public bool TryTake(string userId)
    {
        using var lease = _limiter.AttemptAcquire(userId);
        return lease.IsAcquired;
    }

    public void Dispose() => _limiter.Dispose();
}
