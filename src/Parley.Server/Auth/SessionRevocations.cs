using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Parley.Server.Common;
using Parley.Server.Configuration;
using Parley.Server.Storage;

namespace Parley.Server.Auth;

/// <summary>
/// Ended sessions. Logout and a replayed refresh token end one session; a password reset and
/// account deletion end all of a user's. The store records each revocation; every node keeps the
/// ones young enough to matter (an access token lives an hour) in memory, so checking a token
/// costs no store read. A node learns of a revocation at once when it makes it, within a moment
/// from the cluster's notification when another node does, and from its own regular read of the
/// store should a notification be missed. Sockets of an ended session are closed (1008) through
/// <see cref="Revoked"/>.
/// </summary>
public sealed class SessionRevocations(IAccountStore accounts, ISecurityStore store, TimeProvider clock, IOptions<ParleyOptions> options)
{
    private readonly ConcurrentDictionary<string, long> _sessions = new();
    private readonly ConcurrentDictionary<string, long> _users = new();

    /// <summary>Raised with (userId, sessionId or null for all, revokedAt) after a revocation made on this node.</summary>
    public event Action<string, string?, long>? Revoked;

    /// <summary>How long a revocation matters: the life of the access tokens it refuses, plus clock skew.</summary>
    public long KeepMs => options.Value.Auth.AccessTokenMinutes * 60_000L + 60_000L;

    public async Task RevokeSessionAsync(string userId, string sessionId)
    {
        var now = clock.NowMs();
        await store.RevokeSessionAsync(userId, sessionId, now);
        Apply(new SessionRevocation(userId, sessionId, now));
        Revoked?.Invoke(userId, sessionId, now);
    }

    public async Task RevokeAllAsync(string userId)
    {
        var now = clock.NowMs();
        await accounts.RevokeAllSessionsAsync(userId, now);
        Apply(new SessionRevocation(userId, null, now));
        Revoked?.Invoke(userId, null, now);
    }

    /// <summary>Takes note of a revocation (made here, announced by another node, or read from the store).</summary>
    public void Apply(SessionRevocation revocation)
    {
        if (revocation.SessionId is { } session) _sessions.AddOrUpdate(session, revocation.RevokedAt, (_, at) => Math.Min(at, revocation.RevokedAt));
        else _users.AddOrUpdate(revocation.UserId, revocation.RevokedAt, (_, at) => Math.Max(at, revocation.RevokedAt));
    }

    /// <summary>Whether a token of this user and session, issued at <paramref name="issuedAtMs"/>, was revoked.</summary>
    public bool IsRevoked(string userId, string? sessionId, long issuedAtMs) =>
        sessionId is not null && _sessions.ContainsKey(sessionId)
        || _users.TryGetValue(userId, out var allBefore) && issuedAtMs < allBefore;

    /// <summary>Reads the revocations recorded since <paramref name="since"/> into memory.</summary>
    public async Task LoadAsync(long since)
    {
        foreach (var revocation in await store.GetRevocationsAsync(since)) Apply(revocation);
    }

    /// <summary>Forgets revocations whose tokens have all expired, here and in the store.</summary>
    public async Task ForgetOldAsync()
    {
        var before = clock.NowMs() - KeepMs;
        foreach (var (session, at) in _sessions) if (at < before) _sessions.TryRemove(session, out _);
        foreach (var (user, at) in _users) if (at < before) _users.TryRemove(user, out _);
        await store.PruneRevocationsAsync(before);
    }
}

/// <summary>Loads the revocations before the server takes requests, then reads new ones from the
/// store every few seconds (what another node revoked, should its notification not have arrived)
/// and prunes old ones (and ended windows of attempts per account) now and then.</summary>
internal sealed partial class SessionRevocationSync(SessionRevocations revocations, AuthThrottle throttle, TimeProvider clock, ILogger<SessionRevocationSync> logger)
    : BackgroundService
{
    private static readonly TimeSpan ReadEvery = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan PruneEvery = TimeSpan.FromMinutes(10);
    // Re-read a little of what was already read: a revocation stamped just before a read may commit just after it.
    private const long OverlapMs = 30_000;

    private long _readFrom;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var now = clock.NowMs();
        await revocations.LoadAsync(now - revocations.KeepMs);
        _readFrom = now - OverlapMs;
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lastPrune = clock.GetUtcNow();
        using var timer = new PeriodicTimer(ReadEvery, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    var now = clock.NowMs();
                    await revocations.LoadAsync(_readFrom);
                    _readFrom = now - OverlapMs;
                    if (clock.GetUtcNow() - lastPrune > PruneEvery)
                    {
                        lastPrune = clock.GetUtcNow();
                        await revocations.ForgetOldAsync();
                        await throttle.ForgetOldAttemptsAsync();
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    ReadFailed(logger, ex.GetType().Name);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "Reading session revocations failed ({Error}); retrying")]
    private static partial void ReadFailed(ILogger logger, string error);
}
