namespace Parley.Server.Storage;

/// <summary>The secrets the server reads back, and so seals (<see cref="Auth.SecretSeal"/>) rather than hashes.</summary>
public enum StoredSecretKind
{
    /// <summary>The token signing key; <see cref="StoredSecret.Name"/> is its key id.</summary>
    SigningKey,
    /// <summary>A named server secret (the VAPID key, the secrets key check).</summary>
    ServerSecret,
    /// <summary>An account's TOTP secret; the name is the account's id. Stored as bytes.</summary>
    TotpSecret,
    /// <summary>A push subscription's auth secret; the name is its endpoint, the owner its account.</summary>
    PushAuth,
}

/// <summary>One stored secret as it is in the store (text values as UTF-8), so that it can be sealed
/// again in place: <see cref="IParleyStore.ReplaceStoredSecretAsync"/> replaces it only while it is
/// still this value.</summary>
public sealed record StoredSecret(StoredSecretKind Kind, string Name, string? Owner, byte[] Value)
{
    public static StoredSecret Text(StoredSecretKind kind, string name, string? owner, string value) =>
        new(kind, name, owner, System.Text.Encoding.UTF8.GetBytes(value));

    /// <summary>A value of this kind as its column holds it: bytes for a TOTP secret, text otherwise.</summary>
    public object Column(byte[] value) => Kind == StoredSecretKind.TotpSecret ? value : System.Text.Encoding.UTF8.GetString(value);
}

/// <summary>The statements the SQL backends (same tables on SQLite and PostgreSQL) read and seal stored secrets with.</summary>
internal static class StoredSecretSql
{
    private const int PageSize = 500;

    /// <summary>Runs one query of the walk on the backend's connection: its rows, each mapped.</summary>
    public delegate Task<List<StoredSecret>> Query(Func<System.Data.Common.DbDataReader, StoredSecret> map, string sql, params object[] args);

    /// <summary>The server's keys, then TOTP secrets and push subscriptions a page at a time (a page
    /// per read, so a large store is never held at once nor read in one long transaction).</summary>
    public static async IAsyncEnumerable<StoredSecret> WalkAsync(Query query, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        foreach (var key in await query(r => StoredSecret.Text(StoredSecretKind.SigningKey, r.GetString(0), null, r.GetString(1)),
                     "SELECT kid, private_key FROM signing_keys").ConfigureAwait(false))
        {
            yield return key;
        }
        foreach (var secret in await query(r => StoredSecret.Text(StoredSecretKind.ServerSecret, r.GetString(0), null, r.GetString(1)),
                     "SELECT name, value FROM server_secrets").ConfigureAwait(false))
        {
            yield return secret;
        }
        await foreach (var secret in PagesAsync(query, r => new StoredSecret(StoredSecretKind.TotpSecret, r.GetString(0), null, (byte[])r.GetValue(1)),
                           "SELECT user_id, secret FROM mfa WHERE user_id > $1 ORDER BY user_id LIMIT $2", ct).ConfigureAwait(false))
        {
            yield return secret;
        }
        await foreach (var secret in PagesAsync(query, r => StoredSecret.Text(StoredSecretKind.PushAuth, r.GetString(0), r.GetString(1), r.GetString(2)),
                           "SELECT endpoint, user_id, auth FROM push_subscriptions WHERE endpoint > $1 ORDER BY endpoint LIMIT $2", ct).ConfigureAwait(false))
        {
            yield return secret;
        }
    }

    private static async IAsyncEnumerable<StoredSecret> PagesAsync(Query query, Func<System.Data.Common.DbDataReader, StoredSecret> map, string sql,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        for (var after = ""; ; )
        {
            ct.ThrowIfCancellationRequested();
            var page = await query(map, sql, after, PageSize).ConfigureAwait(false);
            foreach (var secret in page) yield return secret;
            if (page.Count < PageSize) yield break;
            after = page[^1].Name;
        }
    }

    /// <summary>Replaces the value only while it is the one read ($2): a secret changed meanwhile
    /// (enrolled again, subscribed again, sealed by another node) is left as it now is.</summary>
    public static string Replace(StoredSecretKind kind) => kind switch
    {
        StoredSecretKind.SigningKey => "UPDATE signing_keys SET private_key = $3 WHERE kid = $1 AND private_key = $2",
        StoredSecretKind.ServerSecret => "UPDATE server_secrets SET value = $3 WHERE name = $1 AND value = $2",
        StoredSecretKind.TotpSecret => "UPDATE mfa SET secret = $3 WHERE user_id = $1 AND secret = $2",
        StoredSecretKind.PushAuth => "UPDATE push_subscriptions SET auth = $3 WHERE endpoint = $1 AND auth = $2",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
