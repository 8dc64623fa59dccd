using Microsoft.Data.Sqlite;

namespace Parley.Server.Storage.Sqlite;

/// <summary>A deleted account's name leaves the messages it sent in slices of positions, each in a
/// write transaction of its own (see <see cref="Rules.SenderScrubs"/>): the writer is the only one,
/// and every send queued behind one scan of the whole table waited for it.</summary>
internal sealed partial class SqliteStore
{
    /// <summary>In the deletion's transaction: the scrub up to the last message stored (the rowid's
    /// largest, read from the end of the table), which later slices carry out.</summary>
    private static void RecordSenderScrub(SqliteConnection c, string userId)
    {
        var end = c.Scalar("SELECT coalesce(max(pos), 0) FROM messages");
        if (end > 0) c.Execute(Rules.SenderScrubs.Record, userId, end);
    }

    private Task ScrubSenderNameAsync(string userId) =>
        scrubSlices.RunAsync(() => db.WriteAsync(w => ScrubSlice(w, userId, scrubSlices.Positions)));

    /// <summary>The next slice of the account's scrub; true when more are left.</summary>
    private static bool ScrubSlice(WriteContext w, string userId, int positions)
    {
        var c = w.Connection;
        var (found, next, end) = c.QueryFirst(r => (true, r.GetInt64(0), r.GetInt64(1)), Rules.SenderScrubs.Next, userId);
        if (!found) return false;
        var to = Rules.SenderScrubs.SliceEnd(next, end, positions);
        var changed = c.Query(r => (Pos: r.GetInt64(0), Action: r.StringOrNull(1)), Rules.StoredRows.ForgetSenderName, userId, AccountNames.Deleted, next, to);
        foreach (var (pos, action) in changed)
        {
            if (Rules.StoredRows.IsTimerLine(action)) c.Execute(Rules.StoredRows.UnnameTimerLine, pos);
        }
        // The old name is in the log's copies of the pages until it is emptied (a slice that
        // changed nothing leaves nothing there to empty).
        if (changed.Count > 0) w.ContentRemoved();
        if (to < end)
        {
            c.Execute(Rules.SenderScrubs.Advance, userId, to);
            return true;
        }
        c.Execute(Rules.SenderScrubs.Finish, userId);
        return false;
    }

    /// <summary>Finishes the scrubs left under way: at start (see <see cref="StoreStartup"/>), and
    /// from the sweep (see <see cref="Chats.DisappearingMessages"/>), for a deletion that failed part
    /// way. The rest of a deletion is one transaction: nothing else is ever left under way.</summary>
    public async Task<DeletionsFinished> FinishAccountDeletionsAsync(long now)
    {
        var pending = db.Read(c => c.Query(r => r.GetString(0), Rules.SenderScrubs.Pending));
        foreach (var userId in pending) await ScrubSenderNameAsync(userId);
        return new(pending.Count, []);
    }
}
