using Npgsql;

namespace Parley.Server.Storage.Postgres;

internal sealed partial class PostgresStore
{
    private const string FindExternalIdentity =
        """
        SELECT e.user_id, u.deleted_at IS NOT NULL FROM external_identities e LEFT JOIN users u ON u.id = e.user_id
        WHERE e.issuer = $1 AND e.subject = $2
        """;

    private static ExternalIdentityRecord ReadExternalIdentity(NpgsqlDataReader r) => new(r.GetString(0), r.GetBoolean(1));

    public Task<ExternalIdentityRecord?> FindExternalIdentityAsync(string issuer, string subject) =>
        db.ReadAsync(c => c.QueryFirstAsync(ReadExternalIdentity, FindExternalIdentity, issuer, subject));

    public async Task<ExternalIdentityRecord> AddExternalUserAsync(string issuer, string subject, UserRecord user)
    {
        try
        {
            return await AddExternalUserOnceAsync(issuer, subject, user).ConfigureAwait(false);
        }
        catch (PostgresException ex) when (ex.IsUniqueViolation())
        {
            // A local registration took the email or phone number in the same moment: the second
            // try finds it taken and leaves it off.
            return await AddExternalUserOnceAsync(issuer, subject, user).ConfigureAwait(false);
        }
    }

    private Task<ExternalIdentityRecord> AddExternalUserOnceAsync(string issuer, string subject, UserRecord u) => db.WriteAsync(false, async w =>
    {
        // Claiming the subject first makes a concurrent claim on another node wait for this
        // transaction and then find the mapping instead of creating a second user.
        var claimed = await w.ExecuteAsync(
            "INSERT INTO external_identities (issuer, subject, user_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            issuer, subject, u.Id, u.CreatedAt).ConfigureAwait(false);
        if (claimed == 0)
        {
            var existing = await w.QueryFirstAsync(ReadExternalIdentity, FindExternalIdentity, issuer, subject).ConfigureAwait(false);
            return (Value: existing!, Events: NoEvents);
        }
        var email = u.Email is not null && await w.ScalarAsync("SELECT count(*) FROM users WHERE email = $1", u.Email).ConfigureAwait(false) == 0
            ? u.Email : null;
        var phone = u.PhoneNumber is not null && await w.ScalarAsync("SELECT count(*) FROM users WHERE phone = $1", u.PhoneNumber).ConfigureAwait(false) == 0
            ? u.PhoneNumber : null;
        await w.ExecuteAsync(
            $"INSERT INTO users ({UserColumns}, search_name) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            u.Id, email, phone, u.Name, u.About, u.Avatar, u.PhotoMediaId, u.PasswordHash, u.Confirmed,
            u.CreatedAt, u.LastSeen, SearchKey(u.Name)).ConfigureAwait(false);
        return (Value: new ExternalIdentityRecord(u.Id, false), Events: NoEvents);
    });
}
