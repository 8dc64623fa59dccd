using Microsoft.Data.Sqlite;

namespace Parley.Server.Storage.Sqlite;

internal sealed partial class SqliteStore
{
    private const string UserColumns =
        "id, email, phone, name, about, avatar, photo_media_id, password_hash, confirmed, created_at, last_seen";

    private static UserRecord ReadUser(SqliteDataReader r) => new(
        r.GetString(0), r.StringOrNull(1), r.StringOrNull(2), r.GetString(3), r.StringOrNull(4), r.StringOrNull(5),
        r.StringOrNull(6), r.GetString(7), r.GetInt64(8) != 0, r.GetInt64(9), r.GetInt64(10));

    public Task<SigningKeyRecord> GetOrAddSigningKeyAsync(SigningKeyRecord candidate) => db.WriteAsync(w =>
    {
        w.Connection.Execute("INSERT INTO signing_keys (kid, private_key, created_at) SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM signing_keys)",
            candidate.KeyId, candidate.PrivateKeyPkcs8, candidate.CreatedAt);
        return w.Connection.QueryFirst(r => new SigningKeyRecord(r.GetString(0), r.GetString(1), r.GetInt64(2)),
            "SELECT kid, private_key, created_at FROM signing_keys ORDER BY created_at LIMIT 1")!;
    });

    public async Task<bool> CreateUserAsync(UserRecord u)
    {
        try
        {
            await db.WriteAsync(w => w.Connection.Execute(
                $"INSERT INTO users ({UserColumns}, search_name) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                u.Id, u.Email, u.PhoneNumber, u.Name, u.About, u.Avatar, u.PhotoMediaId, u.PasswordHash, u.Confirmed ? 1 : 0,
                u.CreatedAt, u.LastSeen, SearchKey(u.Name)));
            return true;
        }
        catch (SqliteException ex) when (IsUniqueViolation(ex))
        {
            return false;
        }
    }

    private static string SearchKey(string name) => name.ToLowerInvariant();

    public Task<UserRecord?> GetUserAsync(string userId) =>
        db.ReadAsync(c => c.QueryFirst(ReadUser, $"SELECT {UserColumns} FROM users WHERE id = $1", userId));

    public Task<IReadOnlyList<UserRecord>> GetUsersAsync(IReadOnlyCollection<string> userIds) => db.ReadAsync<IReadOnlyList<UserRecord>>(c =>
    {
        var list = new List<UserRecord>(userIds.Count);
        foreach (var id in userIds)
        {
            var user = c.QueryFirst(ReadUser, $"SELECT {UserColumns} FROM users WHERE id = $1", id);
            if (user is not null) list.Add(user);
        }
        return list;
    });

    public Task<UserRecord?> FindUserByEmailAsync(string email) =>
        db.ReadAsync(c => c.QueryFirst(ReadUser, $"SELECT {UserColumns} FROM users WHERE email = $1", email));

    public Task<UserRecord?> FindUserByPhoneAsync(string phoneNumber) =>
        db.ReadAsync(c => c.QueryFirst(ReadUser, $"SELECT {UserColumns} FROM users WHERE phone = $1", phoneNumber));

    public Task<IReadOnlyList<UserRecord>> SearchUsersAsync(string excludeUserId, string? search, string? afterName, string? afterId, int limit) =>
        db.ReadAsync<IReadOnlyList<UserRecord>>(c =>
        {
            var pattern = string.IsNullOrEmpty(search) ? null : "%" + EscapeLike(search.ToLowerInvariant()) + "%";
            return c.Query(ReadUser,
                $"""
                SELECT {UserColumns} FROM users
                WHERE id <> $1 AND deleted_at IS NULL
                  AND ($2 IS NULL OR search_name LIKE $2 ESCAPE '\' OR email LIKE $2 ESCAPE '\')
                  AND ($3 IS NULL OR (search_name, id) > ($3, $4))
                ORDER BY search_name, id
                LIMIT $5
                """,
                excludeUserId, pattern, afterName is null ? null : SearchKey(afterName), afterId ?? "", limit);
        });

    public Task<IReadOnlyList<UserRecord>> SearchContactsAsync(string userId, string? search, string? exact, string? afterName, string? afterId, int limit) =>
        db.ReadAsync<IReadOnlyList<UserRecord>>(c =>
        {
            var pattern = string.IsNullOrEmpty(search) ? null : "%" + EscapeLike(search.ToLowerInvariant()) + "%";
            return c.Query(ReadUser,
                $"""
                SELECT {UserColumns} FROM users
                WHERE id <> $1 AND deleted_at IS NULL
                  AND ((id IN (SELECT other.user_id FROM members mine JOIN members other ON other.chat_id = mine.chat_id WHERE mine.user_id = $1)
                        AND ($2 IS NULL OR search_name LIKE $2 ESCAPE '\' OR email LIKE $2 ESCAPE '\'))
                       OR ($6 IS NOT NULL AND (email = $6 OR phone = $6)))
                  AND ($3 IS NULL OR (search_name, id) > ($3, $4))
                ORDER BY search_name, id
                LIMIT $5
                """,
                userId, pattern, afterName is null ? null : SearchKey(afterName), afterId ?? "", limit, exact);
        });

    private static string EscapeLike(string text) =>
        text.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_");

    public Task<UserRecord?> UpdateProfileAsync(string userId, string? name, string? about, string? avatar) => db.WriteAsync(w =>
    {
        w.Connection.Execute(
            """
            UPDATE users SET
                name = coalesce($2, name),
                search_name = coalesce($3, search_name),
                about = coalesce($4, about),
                avatar = coalesce($5, avatar)
            WHERE id = $1
            """,
            userId, name, name is null ? null : SearchKey(name), about, avatar);
        w.UserChanged(userId);
        return w.Connection.QueryFirst(ReadUser, $"SELECT {UserColumns} FROM users WHERE id = $1", userId);
    });

    public Task SetPasswordAsync(string userId, string passwordHash) =>
        db.WriteAsync(w => w.Connection.Execute("UPDATE users SET password_hash = $2 WHERE id = $1", userId, passwordHash));

    public Task ConfirmUserAsync(string userId) =>
        db.WriteAsync(w => w.Connection.Execute("UPDATE users SET confirmed = 1 WHERE id = $1", userId));

    public Task SetLastSeenAsync(string userId, long lastSeen) =>
        db.WriteAsync(w => w.Connection.Execute("UPDATE users SET last_seen = max(last_seen, $2) WHERE id = $1", userId, lastSeen));

    public Task SetBlockedAsync(string userId, string blockedId, bool blocked, long now) => db.WriteAsync(w => blocked
        ? w.Connection.Execute("INSERT INTO blocks (user_id, blocked_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", userId, blockedId, now)
        : w.Connection.Execute("DELETE FROM blocks WHERE user_id = $1 AND blocked_id = $2", userId, blockedId));

    public Task<BlockList> GetBlocksAsync(string userId) => db.ReadAsync(c =>
    {
        var rows = c.Query(r => (User: r.GetString(0), Blocked: r.GetString(1)),
            "SELECT user_id, blocked_id FROM blocks WHERE user_id = $1 UNION ALL SELECT user_id, blocked_id FROM blocks WHERE blocked_id = $1", userId);
        if (rows.Count == 0) return BlockList.Empty;
        return new BlockList(
            rows.Where(r => r.User == userId).Select(r => r.Blocked).ToHashSet(),
            rows.Where(r => r.Blocked == userId).Select(r => r.User).ToHashSet());
    });

    public Task<bool> IsBlockedAsync(string userId, string blockedId) =>
        db.ReadAsync(c => c.Scalar("SELECT count(*) FROM blocks WHERE user_id = $1 AND blocked_id = $2", userId, blockedId) > 0);

    public async Task<IReadOnlyList<string>> DeleteUserAsync(string userId, long now)
    {
        var forgotten = await db.WriteAsync(w => DeleteUser(w, userId, now));
        // Its name leaves the messages it sent a slice at a time, recorded above (see Rules.SenderScrubs).
        await ScrubSenderNameAsync(userId);
        return forgotten;
    }

    private static IReadOnlyList<string> DeleteUser(WriteContext w, string userId, long now)
    {
        var c = w.Connection;
        c.Execute(
            """
            UPDATE users SET email = NULL, phone = NULL, name = $2, search_name = '', about = NULL, avatar = NULL,
                photo_media_id = NULL, password_hash = $4, deleted_at = $3
            WHERE id = $1
            """, userId, AccountNames.Deleted, now, AccountNames.DeletedPasswordHash);
        c.Execute("DELETE FROM refresh_tokens WHERE user_id = $1", userId);
        c.Execute("DELETE FROM codes WHERE user_id = $1", userId);
        c.Execute("DELETE FROM blocks WHERE user_id = $1 OR blocked_id = $1", userId);
        RecordSenderScrub(c, userId);
        c.Execute(Rules.StoredRows.ForgetAffectedName, userId, AccountNames.Deleted);
        // Its uploads that no chat shows go (the photo was its profile's only use).
        var forgotten = c.Query(r => r.GetString(0),
            """
            DELETE FROM media WHERE uploader_id = $1
              AND NOT EXISTS (SELECT 1 FROM media_chats WHERE media_id = media.id)
              AND NOT EXISTS (SELECT 1 FROM users WHERE photo_media_id = media.id)
            RETURNING id
            """, userId);
        w.UserChanged(userId);
        w.ContentRemoved();
        return forgotten;
    }

    public Task<(UserRecord? User, string? Forgotten)> SetPhotoAsync(string userId, string mediaId) => db.WriteAsync(w =>
    {
        var c = w.Connection;
        var previous = c.QueryFirst(r => r.IsDBNull(0) ? null : r.GetString(0), "SELECT photo_media_id FROM users WHERE id = $1 AND deleted_at IS NULL", userId);
        c.Execute("UPDATE users SET photo_media_id = $2 WHERE id = $1 AND deleted_at IS NULL", userId, mediaId);
        var forgotten = previous is null || previous == mediaId ? null : c.QueryFirst(r => r.GetString(0), Rules.StoredRows.ForgetReplacedPhoto, previous, userId);
        return (c.QueryFirst(ReadUser, $"SELECT {UserColumns} FROM users WHERE id = $1", userId), forgotten);
    });

    public Task AddRefreshTokenAsync(RefreshTokenRecord t) => db.WriteAsync(w => w.Connection.Execute(
        "INSERT INTO refresh_tokens (token_hash, user_id, family_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        t.TokenHash, t.UserId, t.FamilyId, t.CreatedAt, t.ExpiresAt));

    public Task<RefreshRotation> RotateRefreshTokenAsync(string presentedHash, Func<string, string, RefreshTokenRecord> replacement, long now) =>
        db.WriteAsync(w =>
        {
            var c = w.Connection;
            var row = c.QueryFirst(r => (UserId: r.GetString(0), Family: r.GetString(1), Expires: r.GetInt64(2), Used: !r.IsDBNull(3), Revoked: r.GetInt64(4) != 0),
                "SELECT user_id, family_id, expires_at, used_at, revoked FROM refresh_tokens WHERE token_hash = $1", presentedHash);
            if (row.UserId is null || row.Revoked || row.Expires <= now)
            {
                return new RefreshRotation(RefreshOutcome.Invalid, null);
            }
            if (row.Used)
            {
                c.Execute("UPDATE refresh_tokens SET revoked = 1 WHERE family_id = $1", row.Family);
                return new RefreshRotation(RefreshOutcome.Reused, row.UserId, row.Family);
            }
            c.Execute("UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1", presentedHash, now);
            var next = replacement(row.UserId, row.Family);
            c.Execute("INSERT INTO refresh_tokens (token_hash, user_id, family_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                next.TokenHash, next.UserId, next.FamilyId, next.CreatedAt, next.ExpiresAt);
            return new RefreshRotation(RefreshOutcome.Rotated, row.UserId, row.Family);
        });

    public Task<string?> FindLiveRefreshTokenAsync(string presentedHash, long now) => db.ReadAsync(c => c.QueryFirst(r => r.GetString(0),
        "SELECT user_id FROM refresh_tokens WHERE token_hash = $1 AND used_at IS NULL AND revoked = 0 AND expires_at > $2", presentedHash, now));

    public Task RevokeRefreshFamilyAsync(string presentedHash) => db.WriteAsync(w => w.Connection.Execute(
        "UPDATE refresh_tokens SET revoked = 1 WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1)", presentedHash));

    public Task RevokeAllSessionsAsync(string userId, long now) => db.WriteAsync(w =>
    {
        w.Connection.Execute("INSERT INTO session_revocations (user_id, session_id, revoked_at) VALUES ($1, NULL, $2)", userId, now);
        return w.Connection.Execute("UPDATE refresh_tokens SET revoked = 1 WHERE user_id = $1", userId);
    });

    public Task SaveCodeAsync(string userId, string purpose, string codeHash, long expiresAt) => db.WriteAsync(w => w.Connection.Execute(
        """
        INSERT INTO codes (user_id, purpose, code_hash, expires_at, attempts) VALUES ($1, $2, $3, $4, 0)
        ON CONFLICT (user_id, purpose) DO UPDATE SET code_hash = $3, expires_at = $4, attempts = 0
        """,
        userId, purpose, codeHash, expiresAt));

    public Task<CodeCheck> CheckCodeAsync(string userId, string purpose, string codeHash, long now, int maxAttempts) => db.WriteAsync(w =>
    {
        var c = w.Connection;
        var row = c.QueryFirst(r => (Hash: r.GetString(0), Expires: r.GetInt64(1), Attempts: r.GetInt64(2)),
            "SELECT code_hash, expires_at, attempts FROM codes WHERE user_id = $1 AND purpose = $2", userId, purpose);
        if (row.Hash is null || row.Expires <= now) return CodeCheck.ExpiredOrMissing;
        if (row.Attempts >= maxAttempts) return CodeCheck.TooManyAttempts;
        if (!System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
                System.Text.Encoding.ASCII.GetBytes(row.Hash), System.Text.Encoding.ASCII.GetBytes(codeHash)))
        {
            c.Execute("UPDATE codes SET attempts = attempts + 1 WHERE user_id = $1 AND purpose = $2", userId, purpose);
            return CodeCheck.Wrong;
        }
        c.Execute("DELETE FROM codes WHERE user_id = $1 AND purpose = $2", userId, purpose);
        return CodeCheck.Accepted;
    });
}
