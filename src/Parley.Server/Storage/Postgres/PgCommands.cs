using Npgsql;

namespace Parley.Server.Storage.Postgres;

/// <summary>Small helpers so queries read as SQL with positional <c>$1..$n</c> parameters, like the
/// SQLite backend's. A null argument is sent untyped, so SQL that tests it (<c>$2 IS NULL</c>) casts it.</summary>
internal static class PgCommands
{
    public static NpgsqlCommand Command(this NpgsqlConnection connection, string sql, params object?[] args)
    {
        var command = new NpgsqlCommand(sql, connection);
        AddParameters(command.Parameters, args);
        return command;
    }

    public static NpgsqlBatchCommand BatchCommand(string sql, params object?[] args)
    {
        var command = new NpgsqlBatchCommand(sql);
        AddParameters(command.Parameters, args);
        return command;
    }

    private static void AddParameters(NpgsqlParameterCollection parameters, object?[] args)
    {
        foreach (var arg in args) parameters.Add(new NpgsqlParameter { Value = arg ?? DBNull.Value });
    }

    public static async Task<int> ExecuteAsync(this NpgsqlConnection connection, string sql, params object?[] args)
    {
        await using var command = connection.Command(sql, args);
        return await command.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    public static async Task<long> ScalarAsync(this NpgsqlConnection connection, string sql, params object?[] args)
    {
        await using var command = connection.Command(sql, args);
        var value = await command.ExecuteScalarAsync().ConfigureAwait(false);
        return value is null or DBNull ? 0 : Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
    }

    public static async Task<T?> QueryFirstAsync<T>(this NpgsqlConnection connection, Func<NpgsqlDataReader, T> map, string sql, params object?[] args)
    {
        await using var command = connection.Command(sql, args);
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        return await reader.ReadAsync().ConfigureAwait(false) ? map(reader) : default;
    }

    public static async Task<List<T>> QueryAsync<T>(this NpgsqlConnection connection, Func<NpgsqlDataReader, T> map, string sql, params object?[] args)
    {
        await using var command = connection.Command(sql, args);
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        var list = new List<T>();
        while (await reader.ReadAsync().ConfigureAwait(false)) list.Add(map(reader));
        return list;
    }

    public static string? StringOrNull(this NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static long? Int64OrNull(this NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);

    /// <summary>SQLSTATE 23505: a unique constraint said no.</summary>
    public static bool IsUniqueViolation(this PostgresException ex) => ex.SqlState == PostgresErrorCodes.UniqueViolation;
}
