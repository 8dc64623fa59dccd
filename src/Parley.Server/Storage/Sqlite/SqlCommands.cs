using Microsoft.Data.Sqlite;

namespace Parley.Server.Storage.Sqlite;

/// <summary>Small helpers so queries read as SQL with positional <c>$1..$n</c> parameters.</summary>
internal static class SqlCommands
{
    public static SqliteCommand Command(this SqliteConnection connection, string sql, params object?[] args)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        for (var i = 0; i < args.Length; i++)
        {
            command.Parameters.AddWithValue("$" + (i + 1), args[i] ?? DBNull.Value);
        }
        return command;
    }

    public static int Execute(this SqliteConnection connection, string sql, params object?[] args)
    {
        using var command = connection.Command(sql, args);
        return command.ExecuteNonQuery();
    }

    public static long Scalar(this SqliteConnection connection, string sql, params object?[] args)
    {
        using var command = connection.Command(sql, args);
        var value = command.ExecuteScalar();
        return value is null or DBNull ? 0 : Convert.ToInt64(value);
    }

    public static T? QueryFirst<T>(this SqliteConnection connection, Func<SqliteDataReader, T> map, string sql, params object?[] args)
    {
        using var command = connection.Command(sql, args);
        using var reader = command.ExecuteReader();
        return reader.Read() ? map(reader) : default;
    }

    public static List<T> Query<T>(this SqliteConnection connection, Func<SqliteDataReader, T> map, string sql, params object?[] args)
    {
        using var command = connection.Command(sql, args);
        using var reader = command.ExecuteReader();
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
