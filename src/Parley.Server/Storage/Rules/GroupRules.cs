namespace Parley.Server.Storage.Rules;

/// <summary>Who may change a group and how, decided once for every backend. A backend reads the
/// facts inside its transaction, asks these rules, and writes what they allow.</summary>
public static class GroupRules
{
    /// <summary>An actor must be a member of a group (anything else reads as "no such group"), and
    /// an admin when <paramref name="requireAdmin"/>.</summary>
    public static GroupOutcome CheckActor(bool chatIsGroup, string? actorRole, bool requireAdmin)
    {
        if (!chatIsGroup || actorRole is null) return GroupOutcome.NotFound;
        if (requireAdmin && actorRole != MemberRoles.Admin) return GroupOutcome.NotAdmin;
        return GroupOutcome.Done;
    }

    public static GroupOutcome CheckActor(ChatRecord? chat, MemberRecord? actor, bool requireAdmin) =>
        CheckActor(chat is { IsGroup: true }, actor?.Role, requireAdmin);

    /// <summary>Removing someone else takes an admin; leaving takes only membership.</summary>
    public static bool RemovalNeedsAdmin(string actorId, string memberId) => actorId != memberId;

    /// <summary>The requested users who are not members yet, each once, in the order asked.</summary>
    public static List<string> NewMembers(IEnumerable<string> requested, IReadOnlySet<string> current) =>
        requested.Distinct().Where(id => !current.Contains(id)).ToList();

    /// <summary>The system action a removal leaves in the chat.</summary>
    public static string RemovalAction(string actorId, string memberId) =>
        actorId == memberId ? SystemActions.MemberLeft : SystemActions.MemberRemoved;

    /// <summary>A group never loses its last admin: when an admin leaves and no admin remains, the
    /// longest-standing member (earliest join, then smallest id) takes over. Null when an admin
    /// remains or nobody does.</summary>
    public static MemberRecord? Successor(MemberRecord leaving, IReadOnlyCollection<MemberRecord> remaining)
    {
        if (!leaving.IsAdmin || remaining.Any(m => m.IsAdmin)) return null;
        return remaining.OrderBy(m => m.JoinedAt).ThenBy(m => m.UserId, StringComparer.Ordinal).FirstOrDefault();
    }

    /// <summary>Whether an admin flag may change: the target must be a member, and the only admin
    /// cannot step down. <c>Changes</c> is false when the flag already has the asked value.</summary>
    public static (GroupOutcome Outcome, bool Changes) CheckAdminChange(MemberRecord? target, bool admin, long adminCount)
    {
        if (target is null) return (GroupOutcome.NotMember, false);
        if (target.IsAdmin == admin) return (GroupOutcome.Done, false);
        if (!admin && adminCount <= 1) return (GroupOutcome.LastAdmin, false);
        return (GroupOutcome.Done, true);
    }

    /// <summary>A rename leaves a system message; a description change does not.</summary>
    public static bool Renames(ChatRecord chat, string? name) => name is not null && name != chat.Name;
}
