using Parley.Server.Storage;

namespace Parley.Server.Groups;

/// <summary>An account that is deleted leaves every group it is in, as if it had left itself: the
/// same store operation as <c>DELETE /groups/{id}/members/{self}</c>, so what it had been sent stays
/// owed to it through the events it missed, the others get a <c>member_left</c> message and a new
/// summary, and a group it was the last admin of passes to its longest-standing member (see
/// <see cref="Storage.Rules.GroupRules.Successor"/>). 1:1 chats, rooms among them, are not left:
/// their history stays readable to the other side.</summary>
public static class GroupDepartures
{
    public static async Task LeaveEveryGroupAsync(IChatStore chats, IAccountStore accounts, string userId, long now)
    {
        foreach (var chatId in await chats.GetChatIdsAsync(userId))
        {
            if (await chats.GetChatAsync(chatId) is { IsGroup: true }) await LeaveAsync(chats, accounts, chatId, userId, now);
        }
    }

    private static async Task LeaveAsync(IChatStore chats, IAccountStore accounts, string groupId, string userId, long now)
    {
        // Anything but Done means it is out already (an admin removed it meanwhile): nothing to do.
        if ((await chats.RemoveMemberAsync(groupId, actorId: userId, memberId: userId, now)).Outcome != GroupOutcome.Done) return;
        // An account deleted before deletion left groups may still be a member, and may be the
        // longest-standing one. Led only by such accounts, the group could never change again
        // (they cannot act): they leave too, and the lead passes on to someone who can.
        var admins = (await chats.GetMembersAsync(groupId)).Where(m => m.IsAdmin).Select(m => m.UserId).ToList();
        if (admins.Count == 0) return;
        var deletedAdmins = (await accounts.GetUsersAsync(admins)).Where(u => u.IsDeleted).Select(u => u.Id).ToList();
        if (deletedAdmins.Count < admins.Count) return;
        foreach (var deleted in deletedAdmins) await LeaveAsync(chats, accounts, groupId, deleted, now);
    }
}
