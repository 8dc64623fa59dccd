using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Parley.Server.Common;
using Parley.Server.Configuration;
using Parley.Server.Storage;

namespace Parley.Server.Auth;

/// <summary>Limits on credential endpoints, so that password and code guessing are slow from one
/// place and against one account. Attempts per client IP are a fixed window kept by each node.
/// Attempts per account (failed sign-ins, codes sent or tried) are counted in the store, so every
/// node refuses the same account at once and a restart forgets nothing. Sign-ins count only their
/// failures, so a user signing in on several devices is never locked out, and a password reset
/// ends the lock.</summary>
public sealed class AuthThrottle : IDisposable
{
    private static readonly TimeSpan AccountWindow = TimeSpan.FromMinutes(15);

    private readonly PartitionedRateLimiter<string> _perIp;
    private readonly ISecurityStore _store;
    private readonly int _perAccount;
    private readonly TimeProvider _clock;

    public AuthThrottle(IOptions<ParleyOptions> options, ISecurityStore store, TimeProvider clock)
    {
        var auth = options.Value.Auth;
        _perIp = PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetFixedWindowLimiter(key, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = Math.Max(1, auth.AttemptsPerIpPerMinute),
            Window = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
        }));
        _perAccount = Math.Max(1, auth.AttemptsPerAccountPer15Minutes);
        _store = store;
        _clock = clock;
    }

    /// <summary>Takes one attempt for the caller's IP; false with the wait when over the limit.</summary>
    public bool TryIp(HttpContext context, out TimeSpan retryAfter)
    {
        using var lease = _perIp.AttemptAcquire(context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
        retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(60);
        return lease.IsAcquired;
    }

    /// <summary>Takes one attempt of <paramref name="what"/> (a purpose and an address, e.g.
    /// <c>reset:alice@example.com</c>) from its allowance. Null when the attempt may go ahead, else
    /// how long to wait.</summary>
    public Task<TimeSpan?> TakeAccountAttemptAsync(string what) => TakeAsync("attempts:" + what);

    /// <summary>Before checking a password or code: takes one failure from the account's allowance,
    /// so concurrent guesses (on any node) cannot overrun it; <see cref="SucceededAsync"/> gives it
    /// back. Null when the attempt may go ahead, else how long to wait.</summary>
    public Task<TimeSpan?> BeginSignInAsync(string account) => TakeAsync(FailuresOf(account));

    /// <summary>The sign-in succeeded: the failure taken for it is given back.</summary>
    public Task SucceededAsync(string account) => _store.ReturnAttemptAsync(StoredKey(FailuresOf(account)));

    /// <summary>The account's password was just reset by a code: its owner may sign in at once.</summary>
    public Task ForgetFailuresAsync(string account) => _store.ClearAttemptsAsync(StoredKey(FailuresOf(account)));

    /// <summary>Forgets windows that have ended, in the store.</summary>
    public Task ForgetOldAttemptsAsync() => _store.PruneAttemptsAsync(_clock.NowMs() - (long)AccountWindow.TotalMilliseconds);

    private static string FailuresOf(string account) => "failures:" + account;

    /// <summary>The store holds no addresses: keys are hashed.</summary>
    private static string StoredKey(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key.ToLowerInvariant())));

    private async Task<TimeSpan?> TakeAsync(string key)
    {
        var now = _clock.NowMs();
        var windowEnd = await _store.TakeAttemptAsync(StoredKey(key), now, (long)AccountWindow.TotalMilliseconds, _perAccount);
        return windowEnd is { } end ? TimeSpan.FromMilliseconds(Math.Max(1_000, end - now)) : null;
    }

    public void Dispose() => _perIp.Dispose();
}
