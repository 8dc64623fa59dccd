using Parley.Server.Storage;

namespace Parley.Server.Messages;

/// <summary>The readable sentence of a system message ("Ann added Ben"), which front ends of the
/// replaced backends show as the message's <c>content</c>. Built when the message is written out,
/// from the names it carries, so every backend and every path (history, sync, live) says the same.
/// The actor is <see cref="MessageRecord.SenderName"/>: the sender's name when the message was stored,
/// rewritten to "Deleted account" when that account is deleted (not on a rename).</summary>
public static class SystemText
{
    /// <summary>For <c>group_created</c> and <c>group_renamed</c> the stored content is the group's
    /// name at that moment; the other actions store none.</summary>
    public static string? GroupNameOf(MessageRecord m) =>
        m.SystemAction is SystemActions.GroupCreated or SystemActions.GroupRenamed ? m.Content : null;

    public static string Sentence(MessageRecord m)
    {
        var actor = m.SenderName;
        var affected = m.AffectedUserName ?? "someone";
        var name = GroupNameOf(m);
        return m.SystemAction switch
        {
            SystemActions.GroupCreated => name is null ? $"{actor} created the group" : $"{actor} created the group “{name}”",
            SystemActions.MemberAdded => $"{actor} added {affected}",
            SystemActions.MemberRemoved => $"{actor} removed {affected}",
            SystemActions.MemberLeft => $"{m.AffectedUserName ?? actor} left",
            SystemActions.GroupRenamed => name is null ? $"{actor} renamed the group" : $"{actor} renamed the group to “{name}”",
            // From the sender's name like the others, never from a name stored in the content.
            SystemActions.DisappearingMessages => $"{actor} {DisappearTimers.Unnamed(m.Content) ?? "changed disappearing messages"}",
            _ => m.Content ?? "The group changed",
        };
    }
}
