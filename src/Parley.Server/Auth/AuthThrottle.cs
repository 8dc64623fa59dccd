using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Parley.Server.Configuration;

namespace Parley.Server.Auth;

/// <summary>Fixed-window limits on credential endpoints, per client IP and per account, so that
/// password guessing and code guessing are slow from one place and against one account.</summary>
public sealed class AuthThrottle : IDisposable
{
    private readonly PartitionedRateLimiter<string> _perIp;
    private readonly PartitionedRateLimiter<string> _perAccount;

    public AuthThrottle(IOptions<ParleyOptions> options)
    {
        var auth = options.Value.Auth;
        _perIp = Create(auth.AttemptsPerIpPerMinute, TimeSpan.FromMinutes(1));
        _perAccount = Create(auth.AttemptsPerAccountPer15Minutes, TimeSpan.FromMinutes(15));
    }

    private static PartitionedRateLimiter<string> Create(int permits, TimeSpan window) =>
        PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetFixedWindowLimiter(key, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = Math.Max(1, permits),
            Window = window,
            QueueLimit = 0,
        }));

    /// <summary>Takes one attempt for the caller's IP; false with the wait when over the limit.</summary>
    public bool TryIp(HttpContext context, out TimeSpan retryAfter) =>
        TryAcquire(_perIp, context.Connection.RemoteIpAddress?.ToString() ?? "unknown", out retryAfter);

    public bool TryAccount(string account, out TimeSpan retryAfter) =>
        TryAcquire(_perAccount, account.ToLowerInvariant(), out retryAfter);

    private static bool TryAcquire(PartitionedRateLimiter<string> limiter, string key, out TimeSpan retryAfter)
    {
        using var lease = limiter.AttemptAcquire(key);
        retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(60);
        return lease.IsAcquired;
    }

    public void Dispose()
    {
        _perIp.Dispose();
        _perAccount.Dispose();
    }
}
