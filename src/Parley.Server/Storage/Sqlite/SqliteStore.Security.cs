namespace Parley.Server.Storage.Sqlite;

internal sealed partial class SqliteStore
{
    public Task RevokeSessionAsync(string userId, string sessionId, long now) => db.WriteAsync(w =>
    {
        w.Connection.Execute("UPDATE refresh_tokens SET revoked = 1 WHERE family_id = $1 AND user_id = $2", sessionId, userId);
        return w.Connection.Execute("INSERT INTO session_revocations (user_id, session_id, revoked_at) VALUES ($1, $2, $3)", userId, sessionId, now);
    });

    public async Task<(string UserId, string SessionId)?> FindRefreshSessionAsync(string presentedHash)
    {
        var row = await db.ReadAsync(c => c.QueryFirst(r => (UserId: r.GetString(0), Family: r.GetString(1)),
            "SELECT user_id, family_id FROM refresh_tokens WHERE token_hash = $1", presentedHash));
        return row.UserId is null ? null : (row.UserId, row.Family);
    }

    public Task<IReadOnlyList<SessionRevocation>> GetRevocationsAsync(long since) => db.ReadAsync<IReadOnlyList<SessionRevocation>>(c => c.Query(
        r => new SessionRevocation(r.GetString(0), r.StringOrNull(1), r.GetInt64(2)),
        "SELECT user_id, session_id, revoked_at FROM session_revocations WHERE revoked_at >= $1", since));

    public Task PruneRevocationsAsync(long before) => db.WriteAsync(w =>
        w.Connection.Execute("DELETE FROM session_revocations WHERE revoked_at < $1", before));

    public Task<MfaRecord?> GetMfaAsync(string userId) => db.ReadAsync(c => c.QueryFirst(
        r => new MfaRecord(r.GetString(0), (byte[])r.GetValue(1), r.GetInt64(2) != 0, r.GetInt64(3)),
        "SELECT user_id, secret, enabled, last_step FROM mfa WHERE user_id = $1", userId));

    public Task<bool> BeginMfaAsync(string userId, byte[] secret) => db.WriteAsync(w => w.Connection.Execute(
        """
        INSERT INTO mfa (user_id, secret, enabled, last_step) VALUES ($1, $2, 0, 0)
        ON CONFLICT (user_id) DO UPDATE SET secret = $2, last_step = 0 WHERE mfa.enabled = 0
        """, userId, secret) > 0);

    public Task<bool> EnableMfaAsync(string userId, IReadOnlyList<string> recoveryCodeHashes, long step) => db.WriteAsync(w =>
    {
        var c = w.Connection;
        if (c.Execute("UPDATE mfa SET enabled = 1, last_step = $2 WHERE user_id = $1 AND enabled = 0 AND last_step < $2", userId, step) == 0) return false;
        c.Execute("DELETE FROM mfa_recovery_codes WHERE user_id = $1", userId);
        foreach (var hash in recoveryCodeHashes)
        {
            c.Execute("INSERT INTO mfa_recovery_codes (user_id, code_hash) VALUES ($1, $2)", userId, hash);
        }
        return true;
    });

    public Task<bool> UseMfaStepAsync(string userId, long step) => db.WriteAsync(w => w.Connection.Execute(
        "UPDATE mfa SET last_step = $2 WHERE user_id = $1 AND last_step < $2", userId, step) > 0);

    public Task<bool> UseRecoveryCodeAsync(string userId, string codeHash, long now) => db.WriteAsync(w => w.Connection.Execute(
        "UPDATE mfa_recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL", userId, codeHash, now) > 0);

    public Task DisableMfaAsync(string userId) => db.WriteAsync(w =>
    {
        w.Connection.Execute("DELETE FROM mfa_recovery_codes WHERE user_id = $1", userId);
        return w.Connection.Execute("DELETE FROM mfa WHERE user_id = $1", userId);
    });

    public Task<long?> TakeAttemptAsync(string key, long now, long windowMs, int allowed) => db.WriteAsync(w =>
    {
        // The single writer runs this whole, so two attempts cannot both take the last one left.
        var c = w.Connection;
        var (start, attempts) = c.QueryFirst(r => (r.GetInt64(0), r.GetInt64(1)), "SELECT window_start, attempts FROM account_attempts WHERE key = $1", key);
        if (now - start < windowMs)
        {
            if (attempts >= allowed) return start + windowMs;
            c.Execute("UPDATE account_attempts SET attempts = attempts + 1 WHERE key = $1", key);
            return (long?)null;
        }
        c.Execute("""
            INSERT INTO account_attempts (key, window_start, attempts) VALUES ($1, $2, 1)
            ON CONFLICT (key) DO UPDATE SET window_start = $2, attempts = 1
            """, key, now);
        return null;
    });

    public Task ReturnAttemptAsync(string key) => db.WriteAsync(w =>
        w.Connection.Execute("UPDATE account_attempts SET attempts = attempts - 1 WHERE key = $1 AND attempts > 0", key));

    public Task ClearAttemptsAsync(string key) => db.WriteAsync(w => w.Connection.Execute("DELETE FROM account_attempts WHERE key = $1", key));

    public Task<bool> SpendAttemptsAsync(string key, long now, long windowMs) => db.WriteAsync(w => w.Connection.Execute(
        "UPDATE account_attempts SET attempts = $3 WHERE key = $1 AND window_start > $2 - $4 AND attempts < $3",
        key, now, AttemptCounts.Spent, windowMs) > 0);

    public Task PruneAttemptsAsync(long before) => db.WriteAsync(w =>
        w.Connection.Execute("DELETE FROM account_attempts WHERE window_start < $1", before));
}
