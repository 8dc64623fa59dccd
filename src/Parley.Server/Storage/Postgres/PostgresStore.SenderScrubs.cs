namespace Parley.Server.Storage.Postgres;

/// <summary>A deleted account's name leaves the messages it sent in slices of positions, each in a
/// write transaction of its own (see <see cref="Rules.SenderScrubs"/>). PostgreSQL would let other
/// nodes' writers go on beside one long statement (it locks only the account's own messages), but
/// not this node's: the deletion runs on the first writer, whose queue holds the sends of every chat
/// that hashes to it, and each of them waited for the scan of the whole table.</summary>
internal sealed partial class PostgresStore
{
    /// <summary>In the deletion's transaction: the scrub up to the last position handed out so far
    /// (the sequence's, not the largest stored). Every message that read the account's name has
    /// committed by now (the deletion locked the account's row after them, see
    /// <see cref="SenderRow"/>), and every later one reads "Deleted account".</summary>
    private static async Task RecordSenderScrubAsync(PgWrite w, string userId)
    {
        var end = await w.ScalarAsync("SELECT last_value FROM stream_positions").ConfigureAwait(false);
        if (end > 0) await w.ExecuteAsync(Rules.SenderScrubs.Record, userId, end).ConfigureAwait(false);
    }

    private Task ScrubSenderNameAsync(string userId) =>
        scrubSlices.RunAsync(() => db.WriteAsync(false, w => ScrubSliceAsync(w, userId, scrubSlices.Positions)));

    /// <summary>The next slice of the account's scrub; true when more are left. The row is locked
    /// first, so two nodes running the same scrub take its slices one after the other.</summary>
    private static async Task<(bool Value, StoredEvent[] Events)> ScrubSliceAsync(PgWrite w, string userId, int positions)
    {
        var (found, next, end) = await w.QueryFirstAsync(r => (true, r.GetInt64(0), r.GetInt64(1)), Rules.SenderScrubs.Next + " FOR UPDATE", userId)
            .ConfigureAwait(false);
        if (!found) return (false, NoEvents);
        var to = Rules.SenderScrubs.SliceEnd(next, end, positions);
        var changed = await w.QueryAsync(r => (Pos: r.GetInt64(0), Action: r.IsDBNull(1) ? null : r.GetString(1)),
            Rules.StoredRows.ForgetSenderName, userId, AccountNames.Deleted, next, to).ConfigureAwait(false);
        foreach (var (pos, action) in changed)
        {
            if (Rules.StoredRows.IsTimerLine(action)) await w.ExecuteAsync(Rules.StoredRows.UnnameTimerLine, pos).ConfigureAwait(false);
        }
        if (to < end)
        {
            await w.ExecuteAsync(Rules.SenderScrubs.Advance, userId, to).ConfigureAwait(false);
            return (true, NoEvents);
        }
        await w.ExecuteAsync(Rules.SenderScrubs.Finish, userId).ConfigureAwait(false);
        return (false, NoEvents);
    }

    /// <summary>Finishes the scrubs left under way: at start (see <see cref="StoreStartup"/>), and
    /// from the sweep (see <see cref="Chats.DisappearingMessages"/>), for a deletion that failed part
    /// way. Nodes running the same one share its slices. The rest of a deletion is one transaction:
    /// nothing else is ever left under way.</summary>
    public async Task<DeletionsFinished> FinishAccountDeletionsAsync(long now)
    {
        var pending = await db.ReadAsync(c => c.QueryAsync(r => r.GetString(0), Rules.SenderScrubs.Pending)).ConfigureAwait(false);
        foreach (var userId in pending) await ScrubSenderNameAsync(userId).ConfigureAwait(false);
        return new(pending.Count, []);
    }
}
