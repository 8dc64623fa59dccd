using Parley.Server.Realtime;
using Parley.Server.Storage;

namespace Parley.Server.Users;

/// <summary>Sends a <c>user</c> frame when someone changes their name, about, avatar or photo, to
/// everyone who shares a chat with them and to their own other devices, so open clients update
/// without a reload. Ephemeral like presence (a client that was away reads the new profile from its
/// chat list); relayed to the other nodes of a cluster.</summary>
public sealed partial class ProfileAnnouncer(IChatStore chats, IAccountStore accounts, LocalFanOut fanOut, ILogger<ProfileAnnouncer> logger)
{
    public async Task AnnounceAsync(UserRecord user)
    {
        try
        {
            var contacts = await chats.GetContactsAsync(user.Id);
            // Users this user blocked see nothing new of them.
            var blocked = (await accounts.GetBlocksAsync(user.Id)).Blocked;
            var frame = Frames.Build("user", w =>
            {
                w.WriteStartObject();
                w.WriteString("userId", user.Id);
                w.WriteString("name", user.Name);
                w.WriteString("avatar", user.Avatar);
                w.WriteString("about", user.About);
                w.WriteString("photoUrl", Profile.PhotoUrlOf(user));
                w.WriteEndObject();
            });
            fanOut.Broadcast(contacts.Where(c => !blocked.Contains(c)).Append(user.Id), frame);
        }
        catch (Exception ex)
        {
            // Best effort: the next chat list fetch shows the new profile anyway.
            AnnounceFailed(logger, ex);
        }
    }

    [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "Announcing a profile change failed")]
    private static partial void AnnounceFailed(ILogger logger, Exception ex);
}
