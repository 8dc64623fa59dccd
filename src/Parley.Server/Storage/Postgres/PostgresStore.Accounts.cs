using Npgsql;

namespace Parley.Server.Storage.Postgres;

internal sealed partial class PostgresStore
{
    private const string UserColumns =
        "id, email, phone, name, about, avatar, photo_media_id, password_hash, confirmed, created_at, last_seen";

    private static UserRecord ReadUser(NpgsqlDataReader r) => new(
        r.GetString(0), r.StringOrNull(1), r.StringOrNull(2), r.GetString(3), r.StringOrNull(4), r.StringOrNull(5),
        r.StringOrNull(6), r.GetString(7), r.GetBoolean(8), r.GetInt64(9), r.GetInt64(10));

    public Task<SigningKeyRecord> GetOrAddSigningKeyAsync(SigningKeyRecord candidate) => db.WriteAsync(false, async w =>
    {
        // Nodes that start together race here: the advisory lock makes the first one's key the only one.
        await w.ExecuteAsync("SELECT pg_advisory_xact_lock(7365)").ConfigureAwait(false);
        await w.ExecuteAsync("INSERT INTO signing_keys (kid, private_key, created_at) SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM signing_keys)",
            candidate.KeyId, candidate.PrivateKeyPkcs8, candidate.CreatedAt).ConfigureAwait(false);
        var key = await w.QueryFirstAsync(r => new SigningKeyRecord(r.GetString(0), r.GetString(1), r.GetInt64(2)),
            "SELECT kid, private_key, created_at FROM signing_keys ORDER BY created_at, kid LIMIT 1").ConfigureAwait(false);
        return (Value: key!, Events: NoEvents);
    });

    public async Task<bool> CreateUserAsync(UserRecord u)
    {
        try
        {
            await db.WriteAsync(w => w.ExecuteAsync(
                $"INSERT INTO users ({UserColumns}, search_name) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                u.Id, u.Email, u.PhoneNumber, u.Name, u.About, u.Avatar, u.PhotoMediaId, u.PasswordHash, u.Confirmed,
                u.CreatedAt, u.LastSeen, SearchKey(u.Name))).ConfigureAwait(false);
            return true;
        }
        catch (PostgresException ex) when (ex.IsUniqueViolation())
        {
            return false;
        }
    }

    private static string SearchKey(string name) => name.ToLowerInvariant();

    public Task<UserRecord?> GetUserAsync(string userId) =>
        db.ReadAsync(c => c.QueryFirstAsync(ReadUser, $"SELECT {UserColumns} FROM users WHERE id = $1", userId));

    public async Task<IReadOnlyList<UserRecord>> GetUsersAsync(IReadOnlyCollection<string> userIds)
    {
        if (userIds.Count == 0) return [];
        var ids = userIds.ToArray();
        var found = await db.ReadAsync(c => c.QueryAsync(ReadUser, $"SELECT {UserColumns} FROM users WHERE id = ANY($1)", (object)ids))
            .ConfigureAwait(false);
        // The caller's order, like the SQLite backend.
        var byId = found.ToDictionary(u => u.Id);
        var list = new List<UserRecord>(found.Count);
        foreach (var id in ids)
        {
            if (byId.Remove(id, out var user)) list.Add(user);
        }
        return list;
    }

    public Task<UserRecord?> FindUserByEmailAsync(string email) =>
        db.ReadAsync(c => c.QueryFirstAsync(ReadUser, $"SELECT {UserColumns} FROM users WHERE email = $1", email));

    public Task<UserRecord?> FindUserByPhoneAsync(string phoneNumber) =>
        db.ReadAsync(c => c.QueryFirstAsync(ReadUser, $"SELECT {UserColumns} FROM users WHERE phone = $1", phoneNumber));

    public async Task<IReadOnlyList<UserRecord>> SearchUsersAsync(string excludeUserId, string? search, string? afterName, string? afterId, int limit)
    {
        var pattern = string.IsNullOrEmpty(search) ? null : "%" + EscapeLike(search.ToLowerInvariant()) + "%";
        return await db.ReadAsync(c => c.QueryAsync(ReadUser,
            $"""
            SELECT {UserColumns} FROM users
            WHERE id <> $1 AND deleted_at IS NULL
              AND ($2::text IS NULL OR search_name LIKE $2::text OR lower(email) LIKE $2::text)
              AND ($3::text IS NULL OR (search_name, id) > ($3::text, $4::text))
            ORDER BY search_name, id
            LIMIT $5
            """,
            excludeUserId, pattern, afterName is null ? null : SearchKey(afterName), afterId ?? "", limit)).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<UserRecord>> SearchContactsAsync(string userId, string? search, string? exact, string? afterName, string? afterId, int limit)
    {
        var pattern = string.IsNullOrEmpty(search) ? null : "%" + EscapeLike(search.ToLowerInvariant()) + "%";
        return await db.ReadAsync(c => c.QueryAsync(ReadUser,
            $"""
            SELECT {UserColumns} FROM users
            WHERE id <> $1 AND deleted_at IS NULL
              AND ((id IN (SELECT other.user_id FROM members mine JOIN members other ON other.chat_id = mine.chat_id WHERE mine.user_id = $1)
                    AND ($2::text IS NULL OR search_name LIKE $2::text OR lower(email) LIKE $2::text))
                   OR ($6::text IS NOT NULL AND (email = $6::text OR phone = $6::text)))
              AND ($3::text IS NULL OR (search_name, id) > ($3::text, $4::text))
            ORDER BY search_name, id
            LIMIT $5
            """,
            userId, pattern, afterName is null ? null : SearchKey(afterName), afterId ?? "", limit, exact)).ConfigureAwait(false);
    }

    private static string EscapeLike(string text) =>
        text.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_");

    public Task<UserRecord?> UpdateProfileAsync(string userId, string? name, string? about, string? avatar) => db.WriteAsync(false, async w =>
    {
        var user = await w.QueryFirstAsync(ReadUser,
            $"""
            UPDATE users SET
                name = coalesce($2::text, name),
                search_name = coalesce($3::text, search_name),
                about = coalesce($4::text, about),
                avatar = coalesce($5::text, avatar)
            WHERE id = $1
            RETURNING {UserColumns}
            """,
            userId, name, name is null ? null : SearchKey(name), about, avatar).ConfigureAwait(false);
        return (Value: user, Events: NoEvents);
    });

    public Task SetPasswordAsync(string userId, string passwordHash) =>
        db.WriteAsync(w => w.ExecuteAsync("UPDATE users SET password_hash = $2 WHERE id = $1", userId, passwordHash));

    public Task ConfirmUserAsync(string userId) =>
        db.WriteAsync(w => w.ExecuteAsync("UPDATE users SET confirmed = true WHERE id = $1", userId));

    public Task SetLastSeenAsync(string userId, long lastSeen) =>
        db.WriteAsync(w => w.ExecuteAsync("UPDATE users SET last_seen = greatest(last_seen, $2) WHERE id = $1", userId, lastSeen));

    public Task SetBlockedAsync(string userId, string blockedId, bool blocked, long now) => db.WriteAsync(w => blocked
        ? w.ExecuteAsync("INSERT INTO blocks (user_id, blocked_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", userId, blockedId, now)
        : w.ExecuteAsync("DELETE FROM blocks WHERE user_id = $1 AND blocked_id = $2", userId, blockedId));

    public async Task<BlockList> GetBlocksAsync(string userId)
    {
        var rows = await db.ReadAsync(c => c.QueryAsync(r => (User: r.GetString(0), Blocked: r.GetString(1)),
            "SELECT user_id, blocked_id FROM blocks WHERE user_id = $1 UNION ALL SELECT user_id, blocked_id FROM blocks WHERE blocked_id = $1", userId))
            .ConfigureAwait(false);
        if (rows.Count == 0) return BlockList.Empty;
        return new BlockList(
            rows.Where(r => r.User == userId).Select(r => r.Blocked).ToHashSet(),
            rows.Where(r => r.Blocked == userId).Select(r => r.User).ToHashSet());
    }

    public async Task<bool> IsBlockedAsync(string userId, string blockedId) =>
        await db.ReadAsync(c => c.ScalarAsync("SELECT count(*) FROM blocks WHERE user_id = $1 AND blocked_id = $2", userId, blockedId)).ConfigureAwait(false) > 0;

    public async Task<IReadOnlyList<string>> DeleteUserAsync(string userId, long now)
    {
        var forgotten = await db.WriteAsync(false, w => DeleteUserAsync(w, userId, now)).ConfigureAwait(false);
        // Its name leaves the messages it sent a slice at a time, recorded above (see Rules.SenderScrubs).
        await ScrubSenderNameAsync(userId).ConfigureAwait(false);
        return forgotten;
    }

    /// <summary>The deletion's first statement: it waits for every message that read the account's
    /// name to commit, and holds back the ones that would read it next (see <see cref="SenderRow"/>).
    /// The UPDATE after it locks as strongly only when it clears an email or a phone (the row's
    /// unique, key columns), and an account made through an identity provider may have neither.</summary>
    private const string LockAccountForDeletion = "SELECT 1 FROM users WHERE id = $1 FOR UPDATE";

    private static async Task<(IReadOnlyList<string> Value, StoredEvent[] Events)> DeleteUserAsync(PgWrite w, string userId, long now)
    {
        await w.ExecuteAsync(LockAccountForDeletion, userId).ConfigureAwait(false);
        await w.ExecuteAsync(
            """
            UPDATE users SET email = NULL, phone = NULL, name = $2, search_name = '', about = NULL, avatar = NULL,
                photo_media_id = NULL, password_hash = $4, deleted_at = $3
            WHERE id = $1
            """, userId, AccountNames.Deleted, now, AccountNames.DeletedPasswordHash).ConfigureAwait(false);
        await w.ExecuteAsync("DELETE FROM refresh_tokens WHERE user_id = $1", userId).ConfigureAwait(false);
        await w.ExecuteAsync("DELETE FROM codes WHERE user_id = $1", userId).ConfigureAwait(false);
        await w.ExecuteAsync("DELETE FROM blocks WHERE user_id = $1 OR blocked_id = $1", userId).ConfigureAwait(false);
        await RecordSenderScrubAsync(w, userId).ConfigureAwait(false);
        await w.ExecuteAsync(Rules.StoredRows.ForgetAffectedName, userId, AccountNames.Deleted).ConfigureAwait(false);
        // Its uploads that no chat shows go (the photo was its profile's only use).
        IReadOnlyList<string> forgotten = await w.QueryAsync(r => r.GetString(0),
            """
            DELETE FROM media WHERE uploader_id = $1
              AND NOT EXISTS (SELECT 1 FROM media_chats WHERE media_id = media.id)
              AND NOT EXISTS (SELECT 1 FROM users WHERE photo_media_id = media.id)
            RETURNING id
            """, userId).ConfigureAwait(false);
        return (Value: forgotten, Events: NoEvents);
    }

    public Task<(UserRecord? User, string? Forgotten)> SetPhotoAsync(string userId, string mediaId) => db.WriteAsync(false, async w =>
    {
        var previous = await w.QueryFirstAsync(r => r.IsDBNull(0) ? null : r.GetString(0),
            "SELECT photo_media_id FROM users WHERE id = $1 AND deleted_at IS NULL FOR UPDATE", userId).ConfigureAwait(false);
        var user = await w.QueryFirstAsync(ReadUser,
            $"UPDATE users SET photo_media_id = $2 WHERE id = $1 AND deleted_at IS NULL RETURNING {UserColumns}", userId, mediaId).ConfigureAwait(false)
            ?? await w.QueryFirstAsync(ReadUser, $"SELECT {UserColumns} FROM users WHERE id = $1", userId).ConfigureAwait(false);
        var forgotten = previous is null || previous == mediaId ? null
            : await w.QueryFirstAsync(r => r.GetString(0), Rules.StoredRows.ForgetReplacedPhoto, previous, userId).ConfigureAwait(false);
        return (Value: (user, forgotten), Events: NoEvents);
    });

    public Task AddRefreshTokenAsync(RefreshTokenRecord t) => db.WriteAsync(w => w.ExecuteAsync(
        "INSERT INTO refresh_tokens (token_hash, user_id, family_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        t.TokenHash, t.UserId, t.FamilyId, t.CreatedAt, t.ExpiresAt));

    public Task<RefreshRotation> RotateRefreshTokenAsync(string presentedHash, Func<string, string, RefreshTokenRecord> replacement, long now) =>
        db.WriteAsync(false, async w =>
        {
            // FOR UPDATE: two nodes presenting the same token at once see it one after the other.
            var row = await w.QueryFirstAsync(r => (UserId: r.GetString(0), Family: r.GetString(1), Expires: r.GetInt64(2), Used: !r.IsDBNull(3), Revoked: r.GetBoolean(4)),
                "SELECT user_id, family_id, expires_at, used_at, revoked FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE", presentedHash)
                .ConfigureAwait(false);
            if (row.UserId is null || row.Revoked || row.Expires <= now)
            {
                return (Value: new RefreshRotation(RefreshOutcome.Invalid, null), Events: NoEvents);
            }
            if (row.Used)
            {
                await w.ExecuteAsync("UPDATE refresh_tokens SET revoked = true WHERE family_id = $1", row.Family).ConfigureAwait(false);
                return (Value: new RefreshRotation(RefreshOutcome.Reused, row.UserId, row.Family), Events: NoEvents);
            }
            await w.ExecuteAsync("UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1", presentedHash, now).ConfigureAwait(false);
            var next = replacement(row.UserId, row.Family);
            await w.ExecuteAsync("INSERT INTO refresh_tokens (token_hash, user_id, family_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                next.TokenHash, next.UserId, next.FamilyId, next.CreatedAt, next.ExpiresAt).ConfigureAwait(false);
            return (Value: new RefreshRotation(RefreshOutcome.Rotated, row.UserId, row.Family), Events: NoEvents);
        });

    public Task<string?> FindLiveRefreshTokenAsync(string presentedHash, long now) => db.ReadAsync(c => c.QueryFirstAsync(r => r.GetString(0),
        "SELECT user_id FROM refresh_tokens WHERE token_hash = $1 AND used_at IS NULL AND NOT revoked AND expires_at > $2", presentedHash, now));

    public Task RevokeRefreshFamilyAsync(string presentedHash) => db.WriteAsync(w => w.ExecuteAsync(
        "UPDATE refresh_tokens SET revoked = true WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1)", presentedHash));

    public Task RevokeAllSessionsAsync(string userId, long now) => db.WriteAsync(async w =>
    {
        await w.ExecuteAsync("INSERT INTO session_revocations (user_id, session_id, revoked_at) VALUES ($1, NULL, $2)", userId, now).ConfigureAwait(false);
        await w.ExecuteAsync("UPDATE refresh_tokens SET revoked = true WHERE user_id = $1", userId).ConfigureAwait(false);
    });

    public Task SaveCodeAsync(string userId, string purpose, string codeHash, long expiresAt) => db.WriteAsync(w => w.ExecuteAsync(
        """
        INSERT INTO codes (user_id, purpose, code_hash, expires_at, attempts) VALUES ($1, $2, $3, $4, 0)
        ON CONFLICT (user_id, purpose) DO UPDATE SET code_hash = $3, expires_at = $4, attempts = 0
        """,
        userId, purpose, codeHash, expiresAt));

    public Task<CodeCheck> CheckCodeAsync(string userId, string purpose, string codeHash, long now, int maxAttempts) => db.WriteAsync(false, async w =>
    {
        var row = await w.QueryFirstAsync(r => (Hash: r.GetString(0), Expires: r.GetInt64(1), Attempts: r.GetInt32(2)),
            "SELECT code_hash, expires_at, attempts FROM codes WHERE user_id = $1 AND purpose = $2 FOR UPDATE", userId, purpose).ConfigureAwait(false);
        if (row.Hash is null || row.Expires <= now) return (Value: CodeCheck.ExpiredOrMissing, Events: NoEvents);
        if (row.Attempts >= maxAttempts) return (Value: CodeCheck.TooManyAttempts, Events: NoEvents);
        if (!System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
                System.Text.Encoding.ASCII.GetBytes(row.Hash), System.Text.Encoding.ASCII.GetBytes(codeHash)))
        {
            await w.ExecuteAsync("UPDATE codes SET attempts = attempts + 1 WHERE user_id = $1 AND purpose = $2", userId, purpose).ConfigureAwait(false);
            return (Value: CodeCheck.Wrong, Events: NoEvents);
        }
        await w.ExecuteAsync("DELETE FROM codes WHERE user_id = $1 AND purpose = $2", userId, purpose).ConfigureAwait(false);
        return (Value: CodeCheck.Accepted, Events: NoEvents);
    });
}
