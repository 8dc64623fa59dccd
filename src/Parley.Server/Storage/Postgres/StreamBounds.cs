using System.Data.Common;

namespace Parley.Server.Storage.Postgres;

/// <summary>
/// What the writers have committed, as a <see cref="StreamCursor"/>: a writer's row holds the highest
/// position it committed, and it commits its positions in order, so each row bounds its writer. The
/// floor is the lowest row of a writer that is held (a held writer may have events in flight just
/// above its row); a row nobody holds has nothing in flight. With no writer held, nothing is in
/// flight anywhere, and the floor is the highest row.
/// </summary>
internal static class StreamBounds
{
    public const string Rows = "SELECT id, pos, owner IS NOT NULL FROM stream";

    /// <summary>A CTE, <c>upto(writer, pos)</c>: each writer's bound, read in the statement's
    /// snapshot (the same rule as <see cref="Cursor"/>).</summary>
    public const string UpTo =
        """
        upto AS (
            SELECT s.id AS writer, greatest(s.pos, f.floor) AS pos
            FROM stream s, (SELECT coalesce(min(pos) FILTER (WHERE owner IS NOT NULL), max(pos)) AS floor FROM stream) f
        )
        """;

    public static (int Writer, long Pos, bool Held) ReadRow(DbDataReader r) => (r.GetInt32(0), r.GetInt64(1), r.GetBoolean(2));

    public static StreamCursor Cursor(IReadOnlyCollection<(int Writer, long Pos, bool Held)> rows)
    {
        if (rows.Count == 0) return StreamCursor.Start;
        var held = rows.Where(r => r.Held).ToList();
        var floor = held.Count > 0 ? held.Min(r => r.Pos) : rows.Max(r => r.Pos);
        return StreamCursor.Of(floor, rows.Select(r => (r.Writer, r.Pos)));
    }
}
