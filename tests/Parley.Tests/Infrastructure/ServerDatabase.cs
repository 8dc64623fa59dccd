using System.Security.Cryptography;
using Microsoft.Data.Sqlite;

namespace Parley.Tests.Infrastructure;

/// <summary>Reads a test server's SQLite file directly, the way an attacker holding a copy of it
/// would: to check what is (not) stored, and to sign tokens with the server's own key.</summary>
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
        using var connection = Open(server);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        for (var i = 0; i < parameters.Length; i++) command.Parameters.AddWithValue("$" + (i + 1), parameters[i] ?? DBNull.Value);
        return command.ExecuteScalar() switch { null or DBNull => null, var value => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) };
    }

    /// <summary>The stored password hash of the account with this email.</summary>
    public static string PasswordHash(ParleyServer server, string email) =>
        Scalar(server, "SELECT password_hash FROM users WHERE email = $1", email.ToLowerInvariant())
        ?? throw new InvalidOperationException("no user with email " + email);

    /// <summary>The server's signing key and its key id, read from the store.</summary>
    public static (ECDsa Key, string KeyId) SigningKey(ParleyServer server)
    {
        using var connection = Open(server);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT kid, private_key FROM signing_keys ORDER BY created_at LIMIT 1";
        using var reader = command.ExecuteReader();
        if (!reader.Read()) throw new InvalidOperationException("the store holds no signing key");
        var key = ECDsa.Create();
        key.ImportPkcs8PrivateKey(Convert.FromBase64String(reader.GetString(1)), out _);
        return (key, reader.GetString(0));
    }

    /// <summary>Every byte of the database and its write-ahead log, as they are on disk right now.</summary>
    public static byte[] RawFiles(ParleyServer server)
    {
        using var all = new MemoryStream();
        foreach (var path in new[] { FilePath(server), FilePath(server) + "-wal" })
        {
            if (!File.Exists(path)) continue;
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            file.CopyTo(all);
        }
        return all.ToArray();
    }
}
