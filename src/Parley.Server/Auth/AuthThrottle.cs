using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Parley.Server.Common;
using Parley.Server.Configuration;
using Parley.Server.Storage;

namespace Parley.Server.Auth;

/// <summary>Limits on credential endpoints, so that password and code guessing are slow from one
/// place and against one account. Attempts per client IP and per account (failed sign-ins, codes
/// sent or tried) are counted in the store, so every node refuses the same IP and the same account
/// at once and a restart forgets nothing. Sign-ins count only their failures, so a user signing in
/// on several devices is never locked out, and a password reset ends the lock.</summary>
public sealed class AuthThrottle : IDisposable
{
    private static readonly TimeSpan AccountWindow = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan IpWindow = TimeSpan.FromMinutes(1);

    private readonly PartitionedRateLimiter<string> _perIp;
    private readonly ISecurityStore _store;
    private readonly int _perIpAllowed;
    private readonly int _perAccount;
    private readonly TimeProvider _clock;

    public AuthThrottle(IOptions<ParleyOptions> options, ISecurityStore store, TimeProvider clock)
    {
        var auth = options.Value.Auth;
        _perIpAllowed = Math.Max(1, auth.AttemptsPerIpPerMinute);
        _perIp = PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetFixedWindowLimiter(key, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = _perIpAllowed,
            Window = IpWindow,
            QueueLimit = 0,
        }));
        _perAccount = Math.Max(1, auth.AttemptsPerAccountPer15Minutes);
        _store = store;
        _clock = clock;
    }

    /// <summary>Takes one attempt for the caller's IP from the allowance all nodes share. Null when
    /// the attempt may go ahead, else how long to wait. An IP that has overrun the allowance on this
    /// node alone is refused here first, so a flood from one address costs the store nothing.</summary>
    public async Task<TimeSpan?> TakeIpAttemptAsync(HttpContext context)
    {
        var ip = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        using (var lease = _perIp.AttemptAcquire(ip))
        {
            if (!lease.IsAcquired) return lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : IpWindow;
        }
        return await TakeAsync("ip:" + ip, IpWindow, _perIpAllowed);
    }

    /// <summary>Takes one attempt of <paramref name="what"/> (a purpose and an address, e.g.
    /// <c>reset:alice@example.com</c>) from its allowance. Null when the attempt may go ahead, else
    /// how long to wait.</summary>
    public Task<TimeSpan?> TakeAccountAttemptAsync(string what) => TakeAsync("attempts:" + what, AccountWindow, _perAccount);

    /// <summary>Before checking a password or code: takes one failure from the account's allowance,
    /// so concurrent guesses (on any node) cannot overrun it; <see cref="SucceededAsync"/> gives it
    /// back. Null when the attempt may go ahead, else how long to wait.</summary>
    public Task<TimeSpan?> BeginSignInAsync(string account) => TakeAsync(FailuresOf(account), AccountWindow, _perAccount);

    /// <summary>The sign-in succeeded: the failure taken for it is given back.</summary>
    public Task SucceededAsync(string account) => _store.ReturnAttemptAsync(StoredKey(FailuresOf(account)));

    /// <summary>The attempt was refused before its guess was checked (a spent two-step token): the
    /// failure taken for it is given back, as for a success.</summary>
    public Task GiveBackAsync(string account) => SucceededAsync(account);

    /// <summary>The account's password was just reset by a code: its owner may sign in at once.</summary>
    public Task ForgetFailuresAsync(string account) => _store.ClearAttemptsAsync(StoredKey(FailuresOf(account)));

    /// <summary>Forgets windows that have ended, in the store (see <see cref="StoredAllowance.ForgetEndedWindowsAsync"/>).</summary>
    public Task ForgetOldAttemptsAsync() => _store.ForgetEndedWindowsAsync(_clock);

    private static string FailuresOf(string account) => "failures:" + account;

    /// <summary>The store holds no addresses: keys are hashed.</summary>
    private static string StoredKey(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key.ToLowerInvariant())));

    private Task<TimeSpan?> TakeAsync(string key, TimeSpan window, int allowed) =>
        _store.TakeAllowanceAsync(StoredKey(key), window, allowed, _clock);

    public void Dispose() => _perIp.Dispose();
}
