namespace Parley.Server.Storage;

/// <summary>One ended session (<see cref="SessionId"/> null: every session of the user) and when.</summary>
public sealed record SessionRevocation(string UserId, string? SessionId, long RevokedAt);

/// <summary>A user's two-step verification: the TOTP secret, whether it is on (a secret that was
/// never confirmed is only an enrolment), and the last time step a code was accepted for.</summary>
public sealed record MfaRecord(string UserId, byte[] Secret, bool Enabled, long LastStep);

/// <summary>Ended sessions and two-step verification.</summary>
public interface ISecurityStore
{
    /// <summary>Revokes the refresh tokens of one session (a refresh-token family) and records
    /// the revocation, so its access tokens are refused on every node.</summary>
    Task RevokeSessionAsync(string userId, string sessionId, long now);

    /// <summary>The user and session of a refresh token (whatever its state), or null.</summary>
    Task<(string UserId, string SessionId)?> FindRefreshSessionAsync(string presentedHash);

    /// <summary>Revocations recorded at or after <paramref name="since"/> (those of
    /// <see cref="IAccountStore.RevokeAllSessionsAsync"/> come with a null session).</summary>
    Task<IReadOnlyList<SessionRevocation>> GetRevocationsAsync(long since);

    /// <summary>Forgets revocations older than <paramref name="before"/>: the tokens they refused have expired.</summary>
    Task PruneRevocationsAsync(long before);

    Task<MfaRecord?> GetMfaAsync(string userId);
    /// <summary>Starts (or restarts) an enrolment: a new secret, off until confirmed. Refused
    /// (false) when verification is already on.</summary>
    Task<bool> BeginMfaAsync(string userId, byte[] secret);
    /// <summary>Turns verification on with these recovery code hashes, taking <paramref name="step"/>
    /// as used; false when there is no pending enrolment or the step was used.</summary>
    Task<bool> EnableMfaAsync(string userId, IReadOnlyList<string> recoveryCodeHashes, long step);
    /// <summary>Records that a code for this time step was accepted; false when this or a later
    /// step was already used, so a code cannot be replayed (on any node).</summary>
    Task<bool> UseMfaStepAsync(string userId, long step);
    /// <summary>Spends a recovery code; false when it is unknown or spent.</summary>
    Task<bool> UseRecoveryCodeAsync(string userId, string codeHash, long now);
    Task DisableMfaAsync(string userId);

    /// <summary>Takes one attempt from the allowance of <paramref name="key"/> (an account's failed
    /// sign-ins or the codes sent to it, a client IP's credential attempts, all hashed; a user's
    /// exports) in its window of <paramref name="windowMs"/>, starting a new window when the last
    /// one has passed. Null when taken; else when the full window ends. Shared by every node.</summary>
    Task<long?> TakeAttemptAsync(string key, long now, long windowMs, int allowed);
    /// <summary>Gives back one attempt (a sign-in that succeeded).</summary>
    Task ReturnAttemptAsync(string key);
    /// <summary>Forgets the attempts of <paramref name="key"/> (its password was just reset).</summary>
    Task ClearAttemptsAsync(string key);
    /// <summary>Spends all that is left of <paramref name="key"/>'s allowance for the rest of its
    /// running window of <paramref name="windowMs"/> (a one-use token has done its work): every later
    /// <see cref="TakeAttemptAsync"/> on it is refused until that window ends (allowances are far below
    /// <see cref="AttemptCounts.Spent"/>).
    /// False when it was spent already or no such window is running, so of two nodes spending it at
    /// once only one is told true.</summary>
    Task<bool> SpendAttemptsAsync(string key, long now, long windowMs);
    /// <summary>Forgets windows that started before <paramref name="before"/>.</summary>
    Task PruneAttemptsAsync(long before);
}

/// <summary>Values shared by the backends' attempt counts.</summary>
public static class AttemptCounts
{
    /// <summary>The count <see cref="ISecurityStore.SpendAttemptsAsync"/> leaves: above any allowance,
    /// and within a 32-bit column.</summary>
    public const int Spent = 1_000_000_000;
}
