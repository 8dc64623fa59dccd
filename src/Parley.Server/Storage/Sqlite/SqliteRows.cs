using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Data.Sqlite;
using Parley.Server.Storage.Rules;
using SQLitePCL;

namespace Parley.Server.Storage.Sqlite;

/// <summary>
/// Statements run straight on SQLite, for the hot paths: the reads that return many wide rows
/// (history and sync pages: 50 messages of 18 columns) and the statements of every send. Through
/// ADO.NET each column costs two or three calls into SQLite, each taking and releasing a handle
/// reference, and each execution allocates a binder per parameter, a UTF-8 copy of each text
/// argument, a reader and its row record (over a third of the bytes a send allocated). Here a column
/// is one direct call and text is handed to SQLite as it is. Statements are prepared once per
/// connection and finalized by <see cref="Forget"/> before the connection closes.
/// </summary>
internal static class SqliteRows
{
    private static readonly ConditionalWeakTable<SqliteConnection, Dictionary<string, Prepared>> Statements = new();

    /// <summary>A prepared statement, and for each argument ($1, $2, ...) the index SQLite gave its
    /// parameter (SQLite numbers parameters in the order they first appear in the text).</summary>
    private sealed record Prepared(sqlite3_stmt Statement, int[] ParameterIndexes);

    public static List<T> QueryRows<T>(this SqliteConnection connection, Func<SqliteRow, T> map, string sql, params ReadOnlySpan<SqlArg> args)
    {
        var statement = Bound(connection, sql, args);
        try
        {
            var row = new SqliteRow(statement.DangerousGetHandle(), new string?[raw.sqlite3_column_count(statement)]);
            var rows = new List<T>();
            while (Step(connection, statement)) rows.Add(map(row));
            return rows;
        }
        finally
        {
            raw.sqlite3_reset(statement);
        }
    }

    /// <summary>The first row, mapped; <c>default</c> when there is none.</summary>
    public static T? QueryRow<T>(this SqliteConnection connection, Func<SqliteRow, T> map, string sql, params ReadOnlySpan<SqlArg> args)
    {
        var statement = Bound(connection, sql, args);
        try
        {
            return Step(connection, statement) ? map(new SqliteRow(statement.DangerousGetHandle())) : default;
        }
        finally
        {
            raw.sqlite3_reset(statement);
        }
    }

    /// <summary>Runs a statement that returns no rows; returns how many rows it changed.</summary>
    public static int Run(this SqliteConnection connection, string sql, params ReadOnlySpan<SqlArg> args)
    {
        var statement = Bound(connection, sql, args);
        try
        {
            while (Step(connection, statement)) { }
            return raw.sqlite3_changes(connection.Handle);
        }
        finally
        {
            raw.sqlite3_reset(statement);
        }
    }

    /// <summary>Finalizes the connection's statements; call before closing it (a statement left
    /// open would keep the database handle from closing, or be finalized later by the garbage
    /// collector while the pooled handle serves another connection).</summary>
    public static void Forget(SqliteConnection connection)
    {
        if (!Statements.TryGetValue(connection, out var statements)) return;
        Statements.Remove(connection);
        foreach (var prepared in statements.Values) prepared.Statement.Dispose();
    }

    /// <summary>The connection's prepared statement for <paramref name="sql"/>, with the arguments bound;
    /// the caller steps it and resets it.</summary>
    private static sqlite3_stmt Bound(SqliteConnection connection, string sql, ReadOnlySpan<SqlArg> args)
    {
        var (statement, indexes) = Prepare(connection, sql);
        Bind(statement, indexes, args);
        return statement;
    }

    private static Prepared Prepare(SqliteConnection connection, string sql)
    {
        var statements = Statements.GetOrCreateValue(connection);
        if (statements.TryGetValue(sql, out var prepared)) return prepared;
        var rc = raw.sqlite3_prepare_v2(connection.Handle, sql, out var statement);
        if (rc != raw.SQLITE_OK) throw Failure(connection, rc);
        var indexes = new int[raw.sqlite3_bind_parameter_count(statement)];
        for (var i = 0; i < indexes.Length; i++)
        {
            indexes[i] = raw.sqlite3_bind_parameter_index(statement, "$" + (i + 1));
            if (indexes[i] == 0) throw new ArgumentException($"The query's parameters must be $1 to ${indexes.Length}.", nameof(sql));
        }
        prepared = new Prepared(statement, indexes);
        statements[sql] = prepared;
        return prepared;
    }

    private static void Bind(sqlite3_stmt statement, int[] indexes, ReadOnlySpan<SqlArg> args)
    {
        if (args.Length != indexes.Length) throw new ArgumentException($"The query has {indexes.Length} parameters, not {args.Length}.", nameof(args));
        for (var i = 0; i < args.Length; i++)
        {
            var index = indexes[i];
            var arg = args[i];
            var rc = arg.Text switch
            {
                // As UTF-16, which SQLite copies and converts itself: no UTF-8 array per argument.
                // An empty string goes the other way, since an empty span has no address and
                // SQLite would take it for NULL.
                { Length: > 0 } text => raw.sqlite3_bind_text16(statement, index, text),
                { } text => raw.sqlite3_bind_text(statement, index, text),
                null when arg.IsInteger => raw.sqlite3_bind_int64(statement, index, arg.Integer),
                null => raw.sqlite3_bind_null(statement, index),
            };
            if (rc != raw.SQLITE_OK) throw new SqliteException($"Binding parameter ${i + 1} failed.", rc);
        }
    }

    private static bool Step(SqliteConnection connection, sqlite3_stmt statement)
    {
        var rc = raw.sqlite3_step(statement);
        if (rc == raw.SQLITE_ROW) return true;
        if (rc == raw.SQLITE_DONE) return false;
        throw Failure(connection, rc);
    }

    private static SqliteException Failure(SqliteConnection connection, int rc) =>
        new(raw.sqlite3_errmsg(connection.Handle).utf8_to_string(), rc);
}

/// <summary>The current row of a statement being stepped; valid until the next step. With
/// <paramref name="previous"/> (one slot a column), a text equal to the one the previous row had in
/// that column is that same string: the rows of a page repeat most of their text (a history page's
/// chat, senders, their names and the message type; a member list's chat), and those strings were
/// over a third of the bytes a page allocated.</summary>
internal readonly struct SqliteRow(nint statement, string?[]? previous = null) : IStoredRow
{
    public string Text(int column) => TextOrNull(column) ?? throw new InvalidOperationException($"Column {column} is NULL.");

    public string? TextOrNull(int column)
    {
        // NULL has no text; any other value (an empty string included) has a pointer to it.
        var text = SqliteColumns.Text(statement, column);
        if (text == 0) return null;
        var length = SqliteColumns.Bytes(statement, column);
        if (previous is null) return Marshal.PtrToStringUTF8(text, length);
        var last = previous[column];
        // Compared as ASCII (ids, types, most names): equal ASCII bytes are equal text, and any
        // other text simply gets a string of its own.
        if (last is not null && last.Length == length && SameAscii(text, length, last)) return last;
        return previous[column] = Marshal.PtrToStringUTF8(text, length);
    }

    private static unsafe bool SameAscii(nint text, int length, string value) =>
        Ascii.Equals(new ReadOnlySpan<byte>((void*)text, length), value);

    public long Int64(int column) => SqliteColumns.Int64(statement, column);

    public long? Int64OrNull(int column) =>
        SqliteColumns.Type(statement, column) == raw.SQLITE_NULL ? null : SqliteColumns.Int64(statement, column);

    public bool Bool(int column) => SqliteColumns.Int64(statement, column) != 0;
}

/// <summary>SQLite's column accessors, called directly: each is a short, non-blocking read of the
/// current row, so the call skips the runtime's GC transition.</summary>
internal static class SqliteColumns
{
    private const string Library = "e_sqlite3";

    [DllImport(Library, EntryPoint = "sqlite3_column_type"), SuppressGCTransition]
    public static extern int Type(nint statement, int column);

    [DllImport(Library, EntryPoint = "sqlite3_column_int64"), SuppressGCTransition]
    public static extern long Int64(nint statement, int column);

    [DllImport(Library, EntryPoint = "sqlite3_column_text"), SuppressGCTransition]
    public static extern nint Text(nint statement, int column);

    [DllImport(Library, EntryPoint = "sqlite3_column_bytes"), SuppressGCTransition]
    public static extern int Bytes(nint statement, int column);
}

/// <summary>An argument of a statement run through <see cref="SqliteRows"/>: text, an integer or
/// NULL, converted implicitly from <c>string?</c>, <c>long</c> and <c>long?</c>. A struct rather than
/// <c>object</c>, so an integer argument is not a boxed object (a send binds about eight).</summary>
internal readonly struct SqlArg
{
    public readonly string? Text;
    public readonly long Integer;
    public readonly bool IsInteger;

    private SqlArg(string? text, long integer, bool isInteger)
    {
        Text = text;
        Integer = integer;
        IsInteger = isInteger;
    }

    public static implicit operator SqlArg(string? text) => new(text, 0, false);
    public static implicit operator SqlArg(long integer) => new(null, integer, true);
    public static implicit operator SqlArg(long? integer) => integer is { } value ? new(null, value, true) : default;
}
