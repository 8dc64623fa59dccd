namespace Parley.Server.Storage.Sqlite;

internal sealed partial class SqliteStore
{
    public Task<bool> AddPushSubscriptionAsync(PushSubscriptionRecord s, int maxPerUser) => db.WriteAsync(w =>
    {
        var c = w.Connection;
        var others = c.Scalar("SELECT count(*) FROM push_subscriptions WHERE user_id = $1 AND endpoint <> $2", s.UserId, s.Endpoint);
        if (others >= maxPerUser) return false;
        c.Execute(
            """
            INSERT INTO push_subscriptions (endpoint, user_id, p256dh, auth, created_at) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (endpoint) DO UPDATE SET user_id = $2, p256dh = $3, auth = $4, created_at = $5
            """, s.Endpoint, s.UserId, s.P256dh, s.Auth, s.CreatedAt);
        return true;
    });

    public Task<bool> RemovePushSubscriptionAsync(string userId, string endpoint) => db.WriteAsync(w =>
        w.Connection.Execute("DELETE FROM push_subscriptions WHERE endpoint = $1 AND user_id = $2", endpoint, userId) > 0);

    public Task DeletePushSubscriptionAsync(PushSubscriptionRecord s) => db.WriteAsync(w =>
        w.Connection.Execute("DELETE FROM push_subscriptions WHERE endpoint = $1 AND user_id = $2 AND auth = $3", s.Endpoint, s.UserId, s.Auth));

    public Task<IReadOnlyList<PushSubscriptionRecord>> GetPushSubscriptionsAsync(IReadOnlyCollection<string> userIds) =>
        db.ReadAsync<IReadOnlyList<PushSubscriptionRecord>>(c =>
        {
            // One indexed lookup per user on a local file: cheaper than building an IN list.
            var list = new List<PushSubscriptionRecord>();
            foreach (var userId in userIds)
            {
                list.AddRange(c.Query(r => new PushSubscriptionRecord(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt64(4)),
                    "SELECT endpoint, user_id, p256dh, auth, created_at FROM push_subscriptions WHERE user_id = $1", userId));
            }
            return list;
        });

    public Task<string> GetOrAddServerSecretAsync(string name, string candidate, long now) => db.WriteAsync(w =>
    {
        var c = w.Connection;
        c.Execute("INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", name, candidate, now);
        return c.QueryFirst(r => r.GetString(0), "SELECT value FROM server_secrets WHERE name = $1", name)!;
    });

    public Task ForgetServerKeysAsync(IReadOnlyCollection<string> secretNames) => db.WriteAsync(w =>
    {
        var c = w.Connection;
        foreach (var name in secretNames) c.Execute("DELETE FROM server_secrets WHERE name = $1", name);
        w.ContentRemoved();
        return c.Execute("DELETE FROM signing_keys");
    });

    public IAsyncEnumerable<StoredSecret> ReadStoredSecretsAsync(CancellationToken ct) =>
        StoredSecretSql.WalkAsync((map, sql, args) => db.ReadAsync(c => c.Query(r => map(r), sql, args)), ct);

    public Task<bool> ReplaceStoredSecretAsync(StoredSecret stored, byte[] replacement) => db.WriteAsync(w =>
    {
        w.ContentRemoved(); // a secret in clear, or sealed with a key being retired
        return w.Connection.Execute(StoredSecretSql.Replace(stored.Kind), stored.Name, stored.Column(stored.Value), stored.Column(replacement)) > 0;
    });

    public Task<IReadOnlyDictionary<string, ChatSettings>> GetMemberSettingsAsync(string chatId) =>
        db.ReadAsync<IReadOnlyDictionary<string, ChatSettings>>(c => c.Query(
            r => (UserId: r.GetString(0), Settings: new ChatSettings(chatId, r.GetInt64(1), r.GetInt64(2) != 0, r.GetInt64(3) != 0, r.GetInt64(4) != 0, (int)r.GetInt64(5))),
            """
            SELECT m.user_id, coalesce(s.muted_until, 0), coalesce(s.previews, 1), coalesce(s.pinned, 0), coalesce(s.archived, 0), c.disappear_after_seconds
            FROM members m JOIN chats c ON c.id = m.chat_id
            LEFT JOIN chat_settings s ON s.user_id = m.user_id AND s.chat_id = m.chat_id
            WHERE m.chat_id = $1
            """, chatId).ToDictionary(x => x.UserId, x => x.Settings));
}

internal sealed partial class SqliteStore
{
    public Task<IReadOnlyList<string>> GetChatIdsEverJoinedAsync(string userId) => db.ReadAsync<IReadOnlyList<string>>(c => c.Query(r => r.GetString(0),
        "SELECT chat_id FROM members WHERE user_id = $1 UNION SELECT chat_id FROM past_members WHERE user_id = $1 ORDER BY 1", userId));

    public Task<IReadOnlyList<MessageRecord>> GetOwnMessagesAsync(string userId, string chatId, long afterPos, int limit) =>
        db.ReadTogetherAsync<IReadOnlyList<MessageRecord>>(c =>
            SqliteChatQueries.OwnShown.Run(c, db.ChatPositions, chatId, afterPos, long.MaxValue, limit, userId));
}
