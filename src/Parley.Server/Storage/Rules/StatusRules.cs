namespace Parley.Server.Storage.Rules;

/// <summary>A message the reader's watermark just passed: its id, sender and seq.</summary>
public readonly record struct ReachedMessage(string Id, string SenderId, long Seq);

/// <summary>Receipts without a row per message per member: when a reader's watermark moves, each
/// sender whose messages it passed gets one status event, naming that sender's newest such message.</summary>
public static class StatusRules
{
    /// <summary>The watermark a receipt moves to: never past the chat's last message, and nothing
    /// when it would not move forward (null).</summary>
    public static long? Target(long upToSeq, long chatLastSeq, long current)
    {
        var target = Math.Min(upToSeq, chatLastSeq);
        return target > current ? target : null;
    }

    /// <summary>One status per sender (not the reader), addressed to that sender, newest message first.</summary>
    public static List<(string SenderId, StatusData Status)> PerSender(IEnumerable<ReachedMessage> reached, string chatId, string readerId, bool read, long now) =>
        reached.Where(m => m.SenderId != readerId)
            .GroupBy(m => m.SenderId)
            .Select(g => g.MaxBy(m => m.Seq))
            .OrderByDescending(m => m.Seq)
            .Select(m => (m.SenderId, new StatusData(chatId, m.Id, readerId, read ? "read" : "delivered", now)))
            .ToList();
}
