using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Parley.Server.Common;
using Parley.Server.Configuration;
using Parley.Server.Storage;

namespace Parley.Server.Auth;

/// <summary>Limits on credential endpoints, so that password and code guessing are slow from one
/// place and against one account. Attempts per client IP (and sends of codes per account) are
/// fixed windows kept by each node. Failed sign-ins per account are counted in the store, so every
/// node refuses the same account at once and a restart forgets nothing; only failures count, so a
/// user signing in on several devices is never locked out, and a password reset ends the lock.</summary>
public sealed class AuthThrottle : IDisposable
{
    private static readonly TimeSpan FailureWindow = TimeSpan.FromMinutes(15);

    private readonly PartitionedRateLimiter<string> _perIp;
    private readonly PartitionedRateLimiter<string> _perAccount;
    private readonly ISecurityStore _store;
    private readonly int _failuresAllowed;
    private readonly TimeProvider _clock;

    public AuthThrottle(IOptions<ParleyOptions> options, ISecurityStore store, TimeProvider clock)
    {
        var auth = options.Value.Auth;
        _perIp = Create(auth.AttemptsPerIpPerMinute, TimeSpan.FromMinutes(1));
        _perAccount = Create(auth.AttemptsPerAccountPer15Minutes, FailureWindow);
        _failuresAllowed = Math.Max(1, auth.AttemptsPerAccountPer15Minutes);
        _store = store;
        _clock = clock;
    }

    /// <summary>The store holds no account names: the key is hashed.</summary>
    private static string StoredKey(string account) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(account.ToLowerInvariant())));

    /// <summary>Before checking a password or code: takes one failure from the account's allowance,
    /// so concurrent guesses (on any node) cannot overrun it; <see cref="SucceededAsync"/> gives it
    /// back. Null when the attempt may go ahead, else how long to wait.</summary>
    public async Task<TimeSpan?> BeginSignInAsync(string account)
    {
        var now = _clock.NowMs();
        var windowEnd = await _store.TakeSignInFailureAsync(StoredKey(account), now, (long)FailureWindow.TotalMilliseconds, _failuresAllowed);
        return windowEnd is { } end ? TimeSpan.FromMilliseconds(Math.Max(1_000, end - now)) : null;
    }

    /// <summary>The sign-in succeeded: the failure taken for it is given back.</summary>
    public Task SucceededAsync(string account) => _store.ReturnSignInFailureAsync(StoredKey(account));

    /// <summary>The account's password was just reset by a code: its owner may sign in at once.</summary>
    public Task ForgetFailuresAsync(string account) => _store.ClearSignInFailuresAsync(StoredKey(account));

    /// <summary>Forgets failure windows that have ended, in the store.</summary>
    public Task ForgetOldFailuresAsync() => _store.PruneSignInFailuresAsync(_clock.NowMs() - (long)FailureWindow.TotalMilliseconds);

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
