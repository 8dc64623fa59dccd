using Microsoft.Data.Sqlite;

namespace Parley.Server.Storage.Sqlite;

/// <summary>Small helpers so queries read as SQL with positional <c>$1..$n</c> parameters. Commands
/// are cached per connection and keep their prepared statements, so a hot query is parsed once
/// per connection, not once per call (connections here are long-lived: see <see cref="SqliteDatabase"/>).</summary>
internal static class SqlCommands
{
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SqliteConnection, Dictionary<string, SqliteCommand>> Cache = new();

    public static SqliteCommand Command(this SqliteConnection connection, string sql, params object?[] args)
    {
        var commands = Cache.GetOrCreateValue(connection);
        if (!commands.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            for (var i = 0; i < args.Length; i++)
            {
                command.Parameters.Add(new SqliteParameter("$" + (i + 1), null));
            }
            commands[sql] = command;
        }
        for (var i = 0; i < args.Length; i++)
        {
            command.Parameters[i].Value = args[i] ?? DBNull.Value;
        }
        return command;
    }

    public static int Execute(this SqliteConnection connection, string sql, params object?[] args) =>
        connection.Command(sql, args).ExecuteNonQuery();

    public static long Scalar(this SqliteConnection connection, string sql, params object?[] args)
    {
        var value = connection.Command(sql, args).ExecuteScalar();
        return value is null or DBNull ? 0 : Convert.ToInt64(value);
    }

    public static T? QueryFirst<T>(this SqliteConnection connection, Func<SqliteDataReader, T> map, string sql, params object?[] args)
    {
        using var reader = connection.Command(sql, args).ExecuteReader();
        return reader.Read() ? map(reader) : default;
    }

    public static List<T> Query<T>(this SqliteConnection connection, Func<SqliteDataReader, T> map, string sql, params object?[] args)
    {
        using var reader = connection.Command(sql, args).ExecuteReader();
        var list = new List<T>();
        while (reader.Read())
        {
            list.Add(map(reader));
        }
        return list;
    }

    public static string? StringOrNull(this SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static long? Int64OrNull(this SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);
}
