using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Parley.Server.Configuration;

namespace Parley.Server.Auth;

/// <summary>Fixed-window limits on credential endpoints, per client IP and per account, so that
/// password guessing and code guessing are slow from one place and against one account. Sign-ins
/// count only failures per account: a user signing in on several devices is never locked out.</summary>
public sealed class AuthThrottle : IDisposable
{
    private static readonly TimeSpan FailureWindow = TimeSpan.FromMinutes(15);

    private readonly PartitionedRateLimiter<string> _perIp;
    private readonly PartitionedRateLimiter<string> _perAccount;
    private readonly ConcurrentDictionary<string, Failures> _failures = new();
    private readonly int _failuresAllowed;
    private readonly TimeProvider _clock;

    public AuthThrottle(IOptions<ParleyOptions> options, TimeProvider clock)
    {
        var auth = options.Value.Auth;
        _perIp = Create(auth.AttemptsPerIpPerMinute, TimeSpan.FromMinutes(1));
        _perAccount = Create(auth.AttemptsPerAccountPer15Minutes, FailureWindow);
        _failuresAllowed = Math.Max(1, auth.AttemptsPerAccountPer15Minutes);
        _clock = clock;
    }

    /// <summary>Failed sign-ins of one account in the current window.</summary>
    private sealed class Failures
    {
        public long WindowStart;
        public int Count;
    }

    /// <summary>Before checking a password: takes one failure from the account's allowance, so
    /// concurrent guesses cannot overrun it; <see cref="Succeeded"/> gives it back. False with the
    /// wait when the account has used up its failures for this window.</summary>
    public bool TryBeginSignIn(string account, out TimeSpan retryAfter)
    {
        var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        var entry = _failures.GetOrAdd(account.ToLowerInvariant(), _ => new Failures { WindowStart = now });
        lock (entry)
        {
            if (now - entry.WindowStart >= FailureWindow.TotalMilliseconds)
            {
                entry.WindowStart = now;
                entry.Count = 0;
            }
            retryAfter = TimeSpan.FromMilliseconds(entry.WindowStart + FailureWindow.TotalMilliseconds - now);
            if (entry.Count >= _failuresAllowed) return false;
            entry.Count++;
        }
        if (_failures.Count > 100_000) ForgetOldFailures(now);
        return true;
    }

    /// <summary>The sign-in succeeded: the failure taken for it is given back.</summary>
    public void Succeeded(string account)
    {
        if (!_failures.TryGetValue(account.ToLowerInvariant(), out var entry)) return;
        lock (entry)
        {
            if (entry.Count > 0) entry.Count--;
        }
    }

    private void ForgetOldFailures(long now)
    {
        foreach (var (key, entry) in _failures)
        {
            if (now - Volatile.Read(ref entry.WindowStart) >= FailureWindow.TotalMilliseconds) _failures.TryRemove(key, out _);
        }
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
