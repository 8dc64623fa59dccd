namespace Parley.Server.Storage.Postgres;

internal sealed partial class PostgresStore
{
    public Task RevokeSessionAsync(string userId, string sessionId, long now) => db.WriteAsync(async w =>
    {
        await w.ExecuteAsync("UPDATE refresh_tokens SET revoked = true WHERE family_id = $1 AND user_id = $2", sessionId, userId).ConfigureAwait(false);
        await w.ExecuteAsync("INSERT INTO session_revocations (user_id, session_id, revoked_at) VALUES ($1, $2, $3)", userId, sessionId, now)
            .ConfigureAwait(false);
    });

    public async Task<(string UserId, string SessionId)?> FindRefreshSessionAsync(string presentedHash)
    {
        var row = await db.ReadAsync(c => c.QueryFirstAsync(r => (UserId: r.GetString(0), Family: r.GetString(1)),
            "SELECT user_id, family_id FROM refresh_tokens WHERE token_hash = $1", presentedHash)).ConfigureAwait(false);
        return row.UserId is null ? null : (row.UserId, row.Family);
    }

    public async Task<IReadOnlyList<SessionRevocation>> GetRevocationsAsync(long since) => await db.ReadAsync(c => c.QueryAsync(
        r => new SessionRevocation(r.GetString(0), r.StringOrNull(1), r.GetInt64(2)),
        "SELECT user_id, session_id, revoked_at FROM session_revocations WHERE revoked_at >= $1", since)).ConfigureAwait(false);

    public Task PruneRevocationsAsync(long before) => db.WriteAsync(w =>
        w.ExecuteAsync("DELETE FROM session_revocations WHERE revoked_at < $1", before));

    public Task<MfaRecord?> GetMfaAsync(string userId) => db.ReadAsync(c => c.QueryFirstAsync(
        r => new MfaRecord(r.GetString(0), r.GetFieldValue<byte[]>(1), r.GetBoolean(2), r.GetInt64(3)),
        "SELECT user_id, secret, enabled, last_step FROM mfa WHERE user_id = $1", userId));

    public Task<bool> BeginMfaAsync(string userId, byte[] secret) => db.WriteAsync(false, async w =>
    {
        var changed = await w.ExecuteAsync(
            """
            INSERT INTO mfa (user_id, secret, enabled, last_step) VALUES ($1, $2, false, 0)
            ON CONFLICT (user_id) DO UPDATE SET secret = $2, last_step = 0 WHERE NOT mfa.enabled
            """, userId, secret).ConfigureAwait(false);
        return (Value: changed > 0, Events: NoEvents);
    });

    public Task<bool> EnableMfaAsync(string userId, IReadOnlyList<string> recoveryCodeHashes, long step) => db.WriteAsync(false, async w =>
    {
        if (await w.ExecuteAsync("UPDATE mfa SET enabled = true, last_step = $2 WHERE user_id = $1 AND NOT enabled AND last_step < $2", userId, step)
                .ConfigureAwait(false) == 0)
        {
            return (Value: false, Events: NoEvents);
        }
        await w.ExecuteAsync("DELETE FROM mfa_recovery_codes WHERE user_id = $1", userId).ConfigureAwait(false);
        await w.ExecuteAsync("INSERT INTO mfa_recovery_codes (user_id, code_hash) SELECT $1, unnest($2::text[])", userId, recoveryCodeHashes.ToArray())
            .ConfigureAwait(false);
        return (Value: true, Events: NoEvents);
    });

    public Task<bool> UseMfaStepAsync(string userId, long step) => db.WriteAsync(false, async w =>
    {
        var changed = await w.ExecuteAsync("UPDATE mfa SET last_step = $2 WHERE user_id = $1 AND last_step < $2", userId, step).ConfigureAwait(false);
        return (Value: changed > 0, Events: NoEvents);
    });

    public Task<bool> UseRecoveryCodeAsync(string userId, string codeHash, long now) => db.WriteAsync(false, async w =>
    {
        var changed = await w.ExecuteAsync("UPDATE mfa_recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
            userId, codeHash, now).ConfigureAwait(false);
        return (Value: changed > 0, Events: NoEvents);
    });

    public Task DisableMfaAsync(string userId) => db.WriteAsync(async w =>
    {
        await w.ExecuteAsync("DELETE FROM mfa_recovery_codes WHERE user_id = $1", userId).ConfigureAwait(false);
        await w.ExecuteAsync("DELETE FROM mfa WHERE user_id = $1", userId).ConfigureAwait(false);
    });

    public Task<long?> TakeAttemptAsync(string key, long now, long windowMs, int allowed) => db.ReadAsync(async c =>
    {
        // One statement on a pooled connection: the row's lock makes it atomic across nodes. It takes
        // an attempt in the running window, or starts a new one, or changes nothing when none is left.
        var taken = await c.ExecuteAsync(
            """
            INSERT INTO account_attempts AS f (key, window_start, attempts) VALUES ($1, $2, 1)
            ON CONFLICT (key) DO UPDATE SET
                window_start = CASE WHEN f.window_start <= $2 - $3 THEN $2 ELSE f.window_start END,
                attempts = CASE WHEN f.window_start <= $2 - $3 THEN 1 ELSE f.attempts + 1 END
            WHERE f.window_start <= $2 - $3 OR f.attempts < $4
            """, key, now, windowMs, allowed).ConfigureAwait(false);
        if (taken > 0) return (long?)null;
        return await c.ScalarAsync("SELECT window_start FROM account_attempts WHERE key = $1", key).ConfigureAwait(false) + windowMs;
    });

    public Task ReturnAttemptAsync(string key) => db.ReadAsync(c =>
        c.ExecuteAsync("UPDATE account_attempts SET attempts = attempts - 1 WHERE key = $1 AND attempts > 0", key));

    public Task ClearAttemptsAsync(string key) => db.ReadAsync(c => c.ExecuteAsync("DELETE FROM account_attempts WHERE key = $1", key));

    public Task<bool> SpendAttemptsAsync(string key, long now, long windowMs) => db.ReadAsync(async c => await c.ExecuteAsync(
        "UPDATE account_attempts SET attempts = $3 WHERE key = $1 AND window_start > $2 - $4 AND attempts < $3",
        key, now, AttemptCounts.Spent, windowMs).ConfigureAwait(false) > 0);

    public Task PruneAttemptsAsync(long before) => db.ReadAsync(c => c.ExecuteAsync("DELETE FROM account_attempts WHERE window_start < $1", before));
}
