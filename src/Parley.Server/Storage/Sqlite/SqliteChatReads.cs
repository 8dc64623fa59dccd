using Microsoft.Data.Sqlite;

namespace Parley.Server.Storage.Sqlite;

/// <summary>
/// Reads of a chat's messages in position order over both halves of where its messages are (see
/// <see cref="SqliteChatPositions"/>): the entries in <c>chat_positions</c>, at or below the
/// watermark the read's snapshot sees, and the newer ones held in memory. Every read runs inside a
/// transaction (a read transaction, or the writer's): the watermark is read in the snapshot and the
/// memory after it began, so memory holds every entry above the watermark that the snapshot can see,
/// and the rows are joined in that same snapshot.
/// </summary>
internal static class SqliteChatReads
{
    /// <summary>The watermark the connection's snapshot sees.</summary>
    public static long Watermark(SqliteConnection c)
    {
        if (SQLitePCL.raw.sqlite3_get_autocommit(c.Handle) != 0)
        {
            throw new InvalidOperationException("A read of a chat's positions must run inside a transaction.");
        }
        return c.QueryRow(r => r.Int64(0), "SELECT indexed_pos FROM chat_positions_indexed");
    }

    /// <summary>Positions as a JSON array, for <c>json_each</c>.</summary>
    public static string Json(IEnumerable<long> positions) => "[" + string.Join(',', positions) + "]";

    /// <summary>How many positions a read takes from memory at a time: about what it still needs (a
    /// few more, for entries it cannot see), within bounds.</summary>
    public static int SliceFor(int wanted) => (int)Math.Clamp(wanted + 8L, 16, 512);
}

/// <summary>
/// One query over a chat's messages (<c>m</c>) in a range of positions, in one direction, up to a
/// limit: written once as its columns and its condition, run over both halves. Arguments: $1 the
/// chat, $2 and $3 the open range of positions, $4 the limit, $5 the watermark or the positions from
/// memory; the query's own from $6.
/// </summary>
internal sealed class ChatMessageQuery<T>
{
    private readonly string _indexed;
    private readonly string _recent;
    private readonly Func<SqliteRow, T> _read;
    private readonly bool _newestFirst;

    public ChatMessageQuery(string select, string where, Func<SqliteRow, T> read, bool newestFirst)
    {
        var order = newestFirst ? "DESC" : "ASC";
        // CROSS JOIN keeps the positions as the outer loop: the messages have no index by chat.
        _indexed = $"""
            SELECT {select} FROM chat_positions cp CROSS JOIN messages m ON m.pos = cp.pos
            WHERE cp.chat_id = $1 AND cp.pos > $2 AND cp.pos < $3 AND cp.pos <= $5 AND m.chat_id = $1 AND ({where})
            ORDER BY cp.pos {order} LIMIT $4
            """;
        _recent = $"""
            SELECT {select} FROM json_each($5) j CROSS JOIN messages m ON m.pos = j.value
            WHERE m.chat_id = $1 AND m.pos > $2 AND m.pos < $3 AND ({where})
            ORDER BY m.pos {order} LIMIT $4
            """;
        _read = read;
        _newestFirst = newestFirst;
    }

    /// <summary>The chat's messages in (<paramref name="after"/>, <paramref name="before"/>) that meet
    /// the condition, in the query's order, at most <paramref name="limit"/>.</summary>
    public List<T> Run(SqliteConnection c, SqliteChatPositions positions, string chatId, long after, long before, int limit,
        params SqlArg[] args)
    {
        var watermark = SqliteChatReads.Watermark(c);
        var rows = new List<T>();
        if (limit <= 0) return rows;
        // Memory holds the newest positions: newest first reads it first, oldest first last.
        if (_newestFirst) ReadRecent(c, positions, watermark, rows, chatId, after, before, limit, args);
        if (rows.Count < limit)
        {
            rows.AddRange(c.QueryRows(_read, _indexed, Arguments(chatId, after, before, limit - rows.Count, watermark, args)));
        }
        if (!_newestFirst && rows.Count < limit) ReadRecent(c, positions, watermark, rows, chatId, after, before, limit, args);
        return rows;
    }

    private void ReadRecent(SqliteConnection c, SqliteChatPositions positions, long watermark, List<T> rows,
        string chatId, long after, long before, int limit, SqlArg[] args)
    {
        // Slice after slice of memory's positions, until the limit is met: some may be of messages
        // the snapshot cannot see, or that fail the condition.
        var (from, to) = (after, before);
        while (rows.Count < limit)
        {
            var slice = positions.Take(chatId, watermark, from, to, SqliteChatReads.SliceFor(limit - rows.Count), _newestFirst);
            if (slice.Length == 0) return;
            rows.AddRange(c.QueryRows(_read, _recent, Arguments(chatId, after, before, limit - rows.Count, SqliteChatReads.Json(slice), args)));
            if (_newestFirst) to = slice[^1];
            else from = slice[^1];
        }
    }

    private static SqlArg[] Arguments(string chatId, long after, long before, int limit, SqlArg fifth, SqlArg[] args)
    {
        var all = new SqlArg[5 + args.Length];
        (all[0], all[1], all[2], all[3], all[4]) = (chatId, after, before, limit, fifth);
        args.CopyTo(all, 5);
        return all;
    }
}
