namespace Parley.Server.Storage.Postgres;

internal sealed partial class PostgresStore
{
    public Task<bool> AddPushSubscriptionAsync(PushSubscriptionRecord s, int maxPerUser) => db.WriteAsync(false, async w =>
    {
        // Writers on other nodes add subscriptions too: the user's lock makes count-then-insert exact.
        await w.ExecuteAsync(UserCapLock, "push:" + s.UserId).ConfigureAwait(false);
        var others = await w.ScalarAsync("SELECT count(*) FROM push_subscriptions WHERE user_id = $1 AND endpoint <> $2", s.UserId, s.Endpoint)
            .ConfigureAwait(false);
        if (others >= maxPerUser) return (Value: false, Events: NoEvents);
        await w.ExecuteAsync(
            """
            INSERT INTO push_subscriptions (endpoint, user_id, p256dh, auth, created_at) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (endpoint) DO UPDATE SET user_id = $2, p256dh = $3, auth = $4, created_at = $5
            """, s.Endpoint, s.UserId, s.P256dh, s.Auth, s.CreatedAt).ConfigureAwait(false);
        return (Value: true, Events: NoEvents);
    });

    public Task<bool> RemovePushSubscriptionAsync(string userId, string endpoint) => db.WriteAsync(false, async w =>
        (Value: await w.ExecuteAsync("DELETE FROM push_subscriptions WHERE endpoint = $1 AND user_id = $2", endpoint, userId).ConfigureAwait(false) > 0,
         Events: NoEvents));

    public Task DeletePushSubscriptionAsync(PushSubscriptionRecord s) => db.WriteAsync(false, async w =>
        (Value: await w.ExecuteAsync("DELETE FROM push_subscriptions WHERE endpoint = $1 AND user_id = $2 AND auth = $3", s.Endpoint, s.UserId, s.Auth)
            .ConfigureAwait(false), Events: NoEvents));

    public async Task<IReadOnlyList<PushSubscriptionRecord>> GetPushSubscriptionsAsync(IReadOnlyCollection<string> userIds) =>
        await db.ReadAsync(c => c.QueryAsync(
            r => new PushSubscriptionRecord(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt64(4)),
            "SELECT endpoint, user_id, p256dh, auth, created_at FROM push_subscriptions WHERE user_id = ANY($1)",
            (object)userIds.ToArray())).ConfigureAwait(false);

    public Task<string> GetOrAddServerSecretAsync(string name, string candidate, long now) => db.WriteAsync(false, async w =>
    {
        await w.ExecuteAsync("INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", name, candidate, now)
            .ConfigureAwait(false);
        return (Value: (await w.QueryFirstAsync(r => r.GetString(0), "SELECT value FROM server_secrets WHERE name = $1", name).ConfigureAwait(false))!,
            Events: NoEvents);
    });

    public Task ForgetServerKeysAsync(IReadOnlyCollection<string> secretNames) => db.WriteAsync(async w =>
    {
        await w.ExecuteAsync("DELETE FROM server_secrets WHERE name = ANY($1)", (object)secretNames.ToArray()).ConfigureAwait(false);
        await w.ExecuteAsync("DELETE FROM signing_keys").ConfigureAwait(false);
    });

    public IAsyncEnumerable<StoredSecret> ReadStoredSecretsAsync(CancellationToken ct) =>
        StoredSecretSql.WalkAsync((map, sql, args) => db.ReadAsync(c => c.QueryAsync(r => map(r), sql, args)), ct);

    public Task<bool> ReplaceStoredSecretAsync(StoredSecret stored, byte[] replacement) => db.WriteAsync(false, async w =>
        (Value: await w.ExecuteAsync(StoredSecretSql.Replace(stored.Kind), stored.Name, stored.Column(stored.Value), stored.Column(replacement))
            .ConfigureAwait(false) > 0, Events: NoEvents));

    public async Task<IReadOnlyDictionary<string, ChatSettings>> GetMemberSettingsAsync(string chatId) =>
        (await db.ReadAsync(c => c.QueryAsync(
            r => (UserId: r.GetString(0), Settings: new ChatSettings(chatId, r.GetInt64(1), r.GetBoolean(2), r.GetBoolean(3), r.GetBoolean(4), r.GetInt32(5))),
            """
            SELECT m.user_id, coalesce(s.muted_until, 0), coalesce(s.previews, true), coalesce(s.pinned, false), coalesce(s.archived, false), c.disappear_after_seconds
            FROM members m JOIN chats c ON c.id = m.chat_id
            LEFT JOIN chat_settings s ON s.user_id = m.user_id AND s.chat_id = m.chat_id
            WHERE m.chat_id = $1
            """, chatId)).ConfigureAwait(false)).ToDictionary(x => x.UserId, x => x.Settings);
}

internal sealed partial class PostgresStore
{
    public async Task<IReadOnlyList<string>> GetChatIdsEverJoinedAsync(string userId) => await db.ReadAsync(c => c.QueryAsync(r => r.GetString(0),
        "SELECT chat_id FROM members WHERE user_id = $1 UNION SELECT chat_id FROM past_members WHERE user_id = $1 ORDER BY 1", userId)).ConfigureAwait(false);

    public async Task<IReadOnlyList<MessageRecord>> GetOwnMessagesAsync(string userId, string chatId, long afterPos, int limit) =>
        await db.ReadAsync(c => c.QueryAsync(ReadMessage,
            $"SELECT {MessageColumns} FROM messages WHERE chat_id = $1 AND pos > $2 AND sender_id = $3 AND NOT deleted AND type <> 'system' ORDER BY pos LIMIT $4",
            chatId, afterPos, userId, limit)).ConfigureAwait(false);
}
