using Parley.Server.Auth;
using Parley.Server.Blobs;
using Parley.Server.Common;
using Parley.Server.Groups;
using Parley.Server.Storage;

namespace Parley.Server.Users;

/// <summary>
/// Erases an account (<c>DELETE /users/me</c>), on every backend alike. The account is anonymized
/// first, so whatever a later step copies of it (the name a <c>member_left</c> message carries, the
/// profile its contacts are sent) already says "Deleted account": what a user deletes must not
/// survive in a copy.
///
/// The steps are separate store operations, not one transaction. Should the server stop between them:
/// - after the anonymizing, before every group is left: the account can no longer sign in and shows
///   as "Deleted account" everywhere, but is still a member of the groups not yet left, like an
///   account deleted before deletion left groups. It cannot be made an admin there and an admin can
///   remove it (see GroupsApi); a group it was the only admin of has no admin who can act until
///   another member's deletion passes the lead on (see GroupDepartures). On SQLite and
///   PostgreSQL the client's retry with the same access token finishes the deletion (every step is
///   safe to repeat, and the sessions end last); on DynamoDB the anonymizing ends the sessions itself.
/// - after the groups, before the uploads' bytes are deleted: their rows are gone, so the orphan sweep
///   deletes the bytes (<see cref="OrphanBlobSweep"/>).
/// - before the push subscriptions are removed: a retry removes them (nothing is pushed to an
///   account that left its groups and whose 1:1 chats refuse new messages meanwhile).
/// - before two-step verification is off or the sessions end: the TOTP secret stays, useless without
///   the password, which is gone; on SQLite and PostgreSQL an access token already issued works until
///   it expires (an hour at most).
/// </summary>
public sealed class AccountDeletion(IAccountStore accounts, IChatStore chats, IPushStore push, Blocking blocking, ProfileAnnouncer announcer,
    BlobDeletions blobDeletions, TwoStep twoStep, SessionRevocations revocations, TimeProvider clock)
{
    public async Task DeleteAsync(string userId)
    {
        var forgotten = await accounts.DeleteUserAsync(userId, clock.NowMs());
        blocking.AccountDeleted(userId);
        // Open clients replace the name they show on its old messages; sent while the groups still
        // count their members among its contacts.
        if (await accounts.GetUserAsync(userId) is { } anonymized) await announcer.AnnounceAsync(anonymized);
        await GroupDepartures.LeaveEveryGroupAsync(chats, accounts, userId, clock.NowMs());
        await blobDeletions.DeleteAsync(forgotten);
        // Its browsers' push endpoints and keys are its data too (a retry removes what is left).
        foreach (var subscription in await push.GetPushSubscriptionsAsync([userId]))
        {
            await push.RemovePushSubscriptionAsync(userId, subscription.Endpoint);
        }
        await twoStep.DisableAsync(userId);
        await revocations.RevokeAllAsync(userId);
    }
}
