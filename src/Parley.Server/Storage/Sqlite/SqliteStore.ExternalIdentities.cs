namespace Parley.Server.Storage.Sqlite;

internal sealed partial class SqliteStore
{
    private const string FindExternalIdentity =
        """
        SELECT e.user_id, u.deleted_at IS NOT NULL FROM external_identities e LEFT JOIN users u ON u.id = e.user_id
        WHERE e.issuer = $1 AND e.subject = $2
        """;

    private static ExternalIdentityRecord ReadExternalIdentity(Microsoft.Data.Sqlite.SqliteDataReader r) =>
        new(r.GetString(0), r.GetInt64(1) != 0);

    public Task<ExternalIdentityRecord?> FindExternalIdentityAsync(string issuer, string subject) =>
        db.ReadAsync(c => c.QueryFirst(ReadExternalIdentity, FindExternalIdentity, issuer, subject));

    // The writer is the only mutator, so checking and then inserting inside one write is atomic.
    public Task<ExternalIdentityRecord> AddExternalUserAsync(string issuer, string subject, UserRecord u) => db.WriteAsync(w =>
    {
        var c = w.Connection;
        var existing = c.QueryFirst(ReadExternalIdentity, FindExternalIdentity, issuer, subject);
        if (existing is not null) return existing;
        var email = u.Email is not null && c.Scalar("SELECT EXISTS (SELECT 1 FROM users WHERE email = $1)", u.Email) == 0 ? u.Email : null;
        var phone = u.PhoneNumber is not null && c.Scalar("SELECT EXISTS (SELECT 1 FROM users WHERE phone = $1)", u.PhoneNumber) == 0 ? u.PhoneNumber : null;
        c.Execute(
            $"INSERT INTO users ({UserColumns}, search_name) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            u.Id, email, phone, u.Name, u.About, u.Avatar, u.PhotoMediaId, u.PasswordHash, u.Confirmed ? 1 : 0,
            u.CreatedAt, u.LastSeen, SearchKey(u.Name));
        c.Execute("INSERT INTO external_identities (issuer, subject, user_id, created_at) VALUES ($1, $2, $3, $4)",
            issuer, subject, u.Id, u.CreatedAt);
        return new ExternalIdentityRecord(u.Id, false);
    });
}
