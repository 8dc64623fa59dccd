using Parley.Server.Storage;

namespace Parley.Server.Messages;

/// <summary>Status derived from watermarks instead of stored per message and member.</summary>
public static class MessageStatus
{
    public const string Sent = "sent";
    public const string Delivered = "delivered";
    public const string Read = "read";

    /// <summary>The sender's view: the least advanced of the other members (members who joined
    /// later start with watermarks past the message and so never hold it back).</summary>
    public static string ForSender(IReadOnlyList<MemberRecord> members, string senderId, long seq)
    {
        var read = true;
        var delivered = true;
        var anyOther = false;
        foreach (var member in members)
        {
            if (member.UserId == senderId) continue;
            anyOther = true;
            if (member.ReadSeq < seq) read = false;
            if (member.DeliveredSeq < seq) { delivered = false; break; }
        }
        if (!anyOther) return Sent;
        return read ? Read : delivered ? Delivered : Sent;
    }

    /// <summary>One member's progress on one message, with when it got there.</summary>
    public static (string Status, long Timestamp) ForMember(MemberRecord member, MessageRecord message) =>
        member.ReadSeq >= message.Seq ? (Read, member.ReadAt)
        : member.DeliveredSeq >= message.Seq ? (Delivered, member.DeliveredAt)
        : (Sent, message.Timestamp);
}
