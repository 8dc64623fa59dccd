using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Parley.Testing;

namespace Parley.Tests.Infrastructure;

/// <summary>Reads a test server's SQLite file directly, the way an attacker holding a copy of it
/// would: to check what is (not) stored, and to sign tokens with the server's own key. When the
/// suite runs on PostgreSQL (<see cref="TestPostgres"/>), it reads the server's database instead,
/// and on DynamoDB (<see cref="TestDynamo"/>) its tables.</summary>
public static class ServerDatabase
{
    public static string FilePath(ParleyServer server) => Path.Combine(server.DataDirectory, "parley.db");

    public static SqliteConnection Open(ParleyServer server)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = FilePath(server),
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ToString());
        connection.Open();
        return connection;
    }

    public static string? Scalar(ParleyServer server, string sql, params object?[] parameters)
    {
        if (TestPostgres.Enabled) return PostgresScalar(server, sql, parameters);
        using var connection = Open(server);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        for (var i = 0; i < parameters.Length; i++) command.Parameters.AddWithValue("$" + (i + 1), parameters[i] ?? DBNull.Value);
        return command.ExecuteScalar() switch { null or DBNull => null, var value => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) };
    }

    /// <summary>The stored password hash of the account with this email.</summary>
    public static string PasswordHash(ParleyServer server, string email)
    {
        if (TestDynamo.Enabled)
        {
            var claim = ServerDynamo.Record(server, "email#" + email.ToLowerInvariant(), "-") ?? throw new InvalidOperationException("no user with email " + email);
            return ServerDynamo.Scan(server, "Users").Where(u => ServerDynamo.Text(u, "userId") == ServerDynamo.Text(claim, "userId"))
                .Select(u => ServerDynamo.Text(u, "passwordHash")).Single()!;
        }
        return Scalar(server, "SELECT password_hash FROM users WHERE email = $1", email.ToLowerInvariant())
            ?? throw new InvalidOperationException("no user with email " + email);
    }

    /// <summary>Messages stored with this id (0 or 1).</summary>
    public static int MessageCount(ParleyServer server, string messageId) => TestDynamo.Enabled
        ? ServerDynamo.Scan(server, "Messages").Count(m => ServerDynamo.Text(m, "kind") == "m" && ServerDynamo.Text(m, "id") == messageId)
        : int.Parse(Scalar(server, "SELECT count(*) FROM messages WHERE id = $1", messageId)!);

    /// <summary>Messages whose text contains <paramref name="text"/>, or whose quote of another contains <paramref name="quoted"/>.</summary>
    public static int MessagesContaining(ParleyServer server, string text, string? quoted = null) => TestDynamo.Enabled
        ? ServerDynamo.Scan(server, "Messages").Count(m => (ServerDynamo.Text(m, "content") ?? "").Contains(text, StringComparison.Ordinal)
            || (quoted is not null && (ServerDynamo.Text(m, "replyQuote") ?? "").Contains(quoted, StringComparison.Ordinal)))
        : int.Parse(Scalar(server, "SELECT count(*) FROM messages WHERE content LIKE $1 OR reply_quote LIKE $2", $"%{text}%", quoted is null ? null : $"%{quoted}%")!);

    /// <summary>Media rows (descriptions of uploads) with this id (0 or 1).</summary>
    public static int MediaCount(ParleyServer server, string mediaId) => TestDynamo.Enabled
        ? (ServerDynamo.Record(server, "media#" + mediaId, "-") is null ? 0 : 1)
        : int.Parse(Scalar(server, "SELECT count(*) FROM media WHERE id = $1", mediaId)!);

    /// <summary>Refresh tokens stored under this hash (0 or 1).</summary>
    public static int RefreshTokenCount(ParleyServer server, string hash) => TestDynamo.Enabled
        ? (ServerDynamo.Record(server, "rt#" + hash, "-") is null ? 0 : 1)
        : int.Parse(Scalar(server, "SELECT count(*) FROM refresh_tokens WHERE token_hash = $1", hash)!);

    /// <summary>What is stored of the user's one-time code.</summary>
    public static string? CodeHash(ParleyServer server, string userId) => TestDynamo.Enabled
        ? ServerDynamo.Scan(server, "Records").Where(r => ServerDynamo.Text(r, "pk") == "code#" + userId).Select(r => ServerDynamo.Text(r, "codeHash")).FirstOrDefault()
        : Scalar(server, "SELECT code_hash FROM codes WHERE user_id = $1", userId);

    /// <summary>Push subscriptions stored for this endpoint (0 or 1).</summary>
    public static int PushSubscriptionCount(ParleyServer server, string endpoint) => TestDynamo.Enabled
        ? ServerDynamo.Scan(server, "Records").Count(r => (ServerDynamo.Text(r, "pk") ?? "").StartsWith("push#", StringComparison.Ordinal) && ServerDynamo.Text(r, "sk") == endpoint)
        : int.Parse(Scalar(server, "SELECT count(*) FROM push_subscriptions WHERE endpoint = $1", endpoint)!);

    /// <summary>The server's signing key and its key id, read from the store.</summary>
    public static (ECDsa Key, string KeyId) SigningKey(ParleyServer server)
    {
        if (TestDynamo.Enabled)
        {
            var item = ServerDynamo.Record(server, "signing-key", "-") ?? throw new InvalidOperationException("the store holds no signing key");
            var dynamoKey = ECDsa.Create();
            dynamoKey.ImportPkcs8PrivateKey(Convert.FromBase64String(ServerDynamo.Text(item, "privateKey")!), out _);
            return (dynamoKey, ServerDynamo.Text(item, "kid")!);
        }
        if (TestPostgres.Enabled)
        {
            var kid = PostgresScalar(server, "SELECT kid FROM signing_keys ORDER BY created_at, kid LIMIT 1")
                ?? throw new InvalidOperationException("the store holds no signing key");
            var pkcs8 = PostgresScalar(server, "SELECT private_key FROM signing_keys WHERE kid = $1", kid)!;
            var pgKey = ECDsa.Create();
            pgKey.ImportPkcs8PrivateKey(Convert.FromBase64String(pkcs8), out _);
            return (pgKey, kid);
        }
        using var connection = Open(server);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT kid, private_key FROM signing_keys ORDER BY created_at LIMIT 1";
        using var reader = command.ExecuteReader();
        if (!reader.Read()) throw new InvalidOperationException("the store holds no signing key");
        var key = ECDsa.Create();
        key.ImportPkcs8PrivateKey(Convert.FromBase64String(reader.GetString(1)), out _);
        return (key, reader.GetString(0));
    }

    /// <summary>The server's private keys as the store holds them: the token signing key and the VAPID key.</summary>
    public static (string SigningKey, string VapidKey) StoredKeys(ParleyServer server) => TestDynamo.Enabled
        ? (ServerDynamo.Text(ServerDynamo.Record(server, "signing-key", "-")!, "privateKey")!, ServerDynamo.Text(ServerDynamo.Record(server, "secret#vapid", "-")!, "value")!)
        : (Scalar(server, "SELECT private_key FROM signing_keys ORDER BY created_at, kid LIMIT 1")!, Scalar(server, "SELECT value FROM server_secrets WHERE name = 'vapid'")!);

    /// <summary>Every byte of the database and its write-ahead log, as they are on disk right now.</summary>
    public static byte[] RawFiles(ParleyServer server)
    {
        if (TestDynamo.Enabled) return ServerDynamo.Dump(server);
        if (TestPostgres.Enabled)
        {
            // Every row of every table, as text: what a dump of the database would hold.
            var dump = PostgresScalar(server,
                """
                SELECT string_agg(query_to_xml(format('SELECT * FROM %I.%I', schemaname, tablename), true, false, '')::text, E'\n')
                FROM pg_tables WHERE schemaname = 'public'
                """);
            return System.Text.Encoding.UTF8.GetBytes(dump ?? "");
        }
        using var all = new MemoryStream();
        foreach (var path in new[] { FilePath(server), FilePath(server) + "-wal" })
        {
            if (!File.Exists(path)) continue;
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            file.CopyTo(all);
        }
        return all.ToArray();
    }

    /// <summary>Changes the server's database behind its back (for example a trigger that makes one
    /// write fail), in the dialect of the backend the suite runs on.</summary>
    public static void Execute(ParleyServer server, string sqlite, string postgres)
    {
        if (TestPostgres.Enabled)
        {
            using var pg = new Npgsql.NpgsqlConnection(TestPostgres.ConnectionStringFor(TestPostgres.DatabaseOf(server.DataDirectory)));
            pg.Open();
            using var pgCommand = new Npgsql.NpgsqlCommand(postgres, pg);
            pgCommand.ExecuteNonQuery();
            return;
        }
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = FilePath(server), Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sqlite;
        command.ExecuteNonQuery();
    }

    private static string? PostgresScalar(ParleyServer server, string sql, params object?[] parameters)
    {
        using var connection = new Npgsql.NpgsqlConnection(TestPostgres.ConnectionStringFor(TestPostgres.DatabaseOf(server.DataDirectory)));
        connection.Open();
        using var command = new Npgsql.NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters) command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = parameter ?? DBNull.Value });
        return command.ExecuteScalar() switch { null or DBNull => null, var value => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) };
    }
}
