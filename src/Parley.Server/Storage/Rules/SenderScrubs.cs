namespace Parley.Server.Storage.Rules;

/// <summary>
/// The scrubs of deleted accounts' names still to do, shared by the SQL backends. A scrub rewrites
/// the name on every message the account sent (<see cref="StoredRows.ForgetSenderName"/>), and with
/// no index by sender that means reading every message: seconds on a store of tens of millions, held
/// in one writer transaction while every send queued behind it waits. So the deletion's transaction
/// records the scrub here instead (the account, and the positions left to read), and each slice of
/// positions is a write of its own that moves <c>next_pos</c> on, the last one deleting the row: a
/// server stopped half way finishes when the store opens again. A slice reads its range from the row,
/// not from memory, so two runs of the same scrub (a retried deletion, a node resuming while another
/// works) share the slices instead of repeating them.
/// <para>
/// The scan ends at <c>end_pos</c>, the last position handed out when the account was deleted: a
/// message stored after that carries the name the account has from then on, "Deleted account"
/// (sends read the sender's name from its row when they store the message).
/// </para>
/// </summary>
public static class SenderScrubs
{
    /// <summary>Records the scrub of account $1 up to position $2; a deletion repeated while it is
    /// under way keeps its progress and only raises its end.</summary>
    public const string Record =
        """
        INSERT INTO sender_scrubs (user_id, next_pos, end_pos) VALUES ($1, 0, $2)
        ON CONFLICT (user_id) DO UPDATE SET
            end_pos = CASE WHEN excluded.end_pos > sender_scrubs.end_pos THEN excluded.end_pos ELSE sender_scrubs.end_pos END
        """;

    /// <summary>Where the scrub of account $1 stands: the positions after <c>next_pos</c> and up to
    /// <c>end_pos</c> are left; no row when it is done.</summary>
    public const string Next = "SELECT next_pos, end_pos FROM sender_scrubs WHERE user_id = $1";

    /// <summary>The scrub of account $1 has read up to position $2.</summary>
    public const string Advance = "UPDATE sender_scrubs SET next_pos = $2 WHERE user_id = $1";

    public const string Finish = "DELETE FROM sender_scrubs WHERE user_id = $1";

    /// <summary>The accounts whose scrub a stopped server left unfinished.</summary>
    public const string Pending = "SELECT user_id FROM sender_scrubs ORDER BY user_id";

    /// <summary>The slice after <paramref name="next"/>: positions above it up to the returned one,
    /// at most <paramref name="positions"/> of them and none past <paramref name="end"/>.</summary>
    public static long SliceEnd(long next, long end, int positions) => Math.Min(end, next + positions);
}
