namespace Parley.Server.Storage;

/// <summary>A storage backend as a whole: what the server starts and checks. Consumers depend on
/// the part they use instead: <see cref="IAccountStore"/> (accounts and sessions),
/// <see cref="IMediaStore"/> (media metadata; the bytes live in a blob store),
/// <see cref="IChatStore"/> (chats and messages), <see cref="IEventLog"/> (resume and sync),
/// <see cref="IExternalIdentityStore"/> (accounts of external issuers),
/// <see cref="ISecurityStore"/> (ended sessions, two-step verification),
/// <see cref="IMessageSearchStore"/> (message search) and <see cref="IWsTicketStore"/> (WebSocket tickets).
/// Each method is one atomic unit: a backend runs it in one transaction. Events a write produces
/// are published to <see cref="IEventPublisher"/> after the commit, in position order.</summary>
public interface IParleyStore : IAccountStore, IMediaStore, IChatStore, IEventLog, IChatSettingsStore, IPushStore, IExportStore, IExternalIdentityStore, ISecurityStore,
    IMessageSearchStore, IWsTicketStore
{
    /// <summary>Creates or migrates the schema. Safe to call on every start.</summary>
    Task InitializeAsync(CancellationToken ct);

    Task<bool> PingAsync(CancellationToken ct);

    /// <summary>Forgets the server's own keys: the token signing key and the named server secrets
    /// (see <see cref="IPushStore.GetOrAddServerSecretAsync"/>), so the next start makes new ones.
    /// The way out of a lost <c>Parley:Auth:SecretsKey</c> (the <c>secrets reset</c> command).</summary>
    Task ForgetServerKeysAsync(IReadOnlyCollection<string> secretNames);

    /// <summary>Every secret the server reads back: the signing key, the server secrets, each
    /// TOTP secret and each push subscription's auth secret, read a page at a time (the
    /// <c>secrets seal</c> command walks them to seal them with the current key).</summary>
    IAsyncEnumerable<StoredSecret> ReadStoredSecretsAsync(CancellationToken ct);

    /// <summary>Stores <paramref name="replacement"/> in place of <paramref name="stored"/> while the
    /// secret is still that value; false when it changed meanwhile (or is gone).</summary>
    Task<bool> ReplaceStoredSecretAsync(StoredSecret stored, byte[] replacement);
}

public interface IAccountStore
{
    /// <summary>Stores the key unless one exists already; returns the key that is in the store,
    /// so every node and every restart signs with the same key.</summary>
    Task<SigningKeyRecord> GetOrAddSigningKeyAsync(SigningKeyRecord candidate);

    /// <summary>False when the email or phone number is taken.</summary>
    Task<bool> CreateUserAsync(UserRecord user);
    Task<UserRecord?> GetUserAsync(string userId);
    Task<IReadOnlyList<UserRecord>> GetUsersAsync(IReadOnlyCollection<string> userIds);
    Task<UserRecord?> FindUserByEmailAsync(string email);
    Task<UserRecord?> FindUserByPhoneAsync(string phoneNumber);

    /// <summary>Users other than <paramref name="excludeUserId"/> whose name or email contains
    /// <paramref name="search"/>, ordered by name then id, starting after (<paramref name="afterName"/>, <paramref name="afterId"/>).</summary>
    Task<IReadOnlyList<UserRecord>> SearchUsersAsync(string excludeUserId, string? search, string? afterName, string? afterId, int limit);
    /// <summary>As <see cref="SearchUsersAsync"/>, but only users who share a chat with
    /// <paramref name="userId"/>, plus any user whose email address or phone number is exactly <paramref name="exact"/>.</summary>
    Task<IReadOnlyList<UserRecord>> SearchContactsAsync(string userId, string? search, string? exact, string? afterName, string? afterId, int limit);
    Task<UserRecord?> UpdateProfileAsync(string userId, string? name, string? about, string? avatar);
    Task SetPasswordAsync(string userId, string passwordHash);
    Task ConfirmUserAsync(string userId);
    Task SetLastSeenAsync(string userId, long lastSeen);
    /// <summary>Erases an account: profile and credentials gone, sessions revoked, its messages
    /// shown as from "Deleted account". The id stays so chats and messages stay consistent. Its
    /// uploads that no chat shows (the profile photo among them) are forgotten: returns their ids,
    /// whose bytes the caller deletes from the blob store.</summary>
    Task<IReadOnlyList<string>> DeleteUserAsync(string userId, long now);
    /// <summary>Finishes what deletions of accounts left under way (one that failed part way, a
    /// server stopped during one): the names leave the messages those accounts sent, and on
    /// DynamoDB, whose deletion is many writes, every step from the sessions' end on (codes, blocks,
    /// uploads no chat shows). Returns how many accounts it worked on and
    /// the media it forgot, whose bytes the caller deletes. Every node runs it at start and now and
    /// then after; it may run beside a deletion doing the same work, and shares that work rather
    /// than repeating it.</summary>
    Task<DeletionsFinished> FinishAccountDeletionsAsync(long now);
    /// <summary>Sets the profile photo. The photo it replaces is forgotten when nothing else shows it
    /// (no chat it was sent to, no other profile); its id is returned so its bytes can go too.</summary>
    Task<(UserRecord? User, string? Forgotten)> SetPhotoAsync(string userId, string mediaId);

    /// <summary>Blocks (or unblocks) <paramref name="blockedId"/> for <paramref name="userId"/>.</summary>
    Task SetBlockedAsync(string userId, string blockedId, bool blocked, long now);
    /// <summary>Blocks involving the user either way: whom they blocked and who blocked them.</summary>
    Task<BlockList> GetBlocksAsync(string userId);
    Task<bool> IsBlockedAsync(string userId, string blockedId);

    Task AddRefreshTokenAsync(RefreshTokenRecord token);

    /// <summary>Atomically retires <paramref name="presentedHash"/> and stores <paramref name="replacement"/>
    /// in its family. A token already used revokes its whole family (a stolen token was replayed).</summary>
    Task<RefreshRotation> RotateRefreshTokenAsync(string presentedHash, Func<string, string, RefreshTokenRecord> replacement, long now);
    /// <summary>The user of a refresh token that is neither used, revoked nor expired, without
    /// retiring it (refresh tokens that are reused until their session ends); else null.</summary>
    Task<string?> FindLiveRefreshTokenAsync(string presentedHash, long now);
    Task RevokeRefreshFamilyAsync(string presentedHash);
    /// <summary>Revokes every refresh token of the user and records <paramref name="now"/> as the
    /// moment before which their access tokens no longer count (a revocation without a session).</summary>
    Task RevokeAllSessionsAsync(string userId, long now);

    Task SaveCodeAsync(string userId, string purpose, string codeHash, long expiresAt);
    /// <summary>Checks a one-time code, counting the attempt; an accepted code is spent.</summary>
    Task<CodeCheck> CheckCodeAsync(string userId, string purpose, string codeHash, long now, int maxAttempts);
}

/// <summary>Uploaded media as the chats see it: who uploaded what, and who may download it. The
/// bytes themselves live in the blob store (<see cref="Blobs.IBlobStore"/>) under the media id.</summary>
public interface IMediaStore
{
    Task SaveMediaAsync(MediaRecord media);
    Task<MediaRecord?> GetMediaAsync(string mediaId);
    /// <summary>Which of <paramref name="mediaIds"/> have a media row.</summary>
    Task<IReadOnlySet<string>> KnownMediaAsync(IReadOnlyList<string> mediaIds);
    /// <summary>The uploader, members of a chat it was sent to, and (for a profile photo) every user.</summary>
    Task<bool> CanSeeMediaAsync(string mediaId, string userId);
}

public interface IChatStore
{
    Task<ChatRecord?> GetChatAsync(string chatId);
    Task<MemberRecord?> GetMemberAsync(string chatId, string userId);
    Task<IReadOnlyList<MemberRecord>> GetMembersAsync(string chatId);
    Task<IReadOnlyList<string>> GetChatIdsAsync(string userId);
    /// <summary>The chats of a user, most recent activity first.</summary>
    Task<IReadOnlyList<ChatView>> ListChatsAsync(string userId);
    Task<ChatView?> GetChatViewAsync(string chatId, string userId);
    /// <summary>Users who share at least one chat with the user; with <paramref name="maxGroupSize"/>,
    /// only through 1:1 chats and groups of at most that many members (who see their presence).</summary>
    Task<IReadOnlyList<string>> GetContactsAsync(string userId, int maxGroupSize = int.MaxValue);

    /// <summary>Gets or creates the 1:1 chat of two users; the bool says whether it was created.</summary>
    Task<(ChatRecord Chat, bool Created)> GetOrCreateDirectChatAsync(string chatId, string userA, string userB, long now);

    Task<ChatRecord> CreateGroupAsync(string groupId, string name, string? description, string creatorId, IReadOnlyList<string> memberIds, long now);
    Task<GroupChange> AddMembersAsync(string groupId, string actorId, IReadOnlyList<string> memberIds, long now);
    Task<GroupChange> RemoveMemberAsync(string groupId, string actorId, string memberId, long now);
    Task<GroupOutcome> UpdateGroupInfoAsync(string groupId, string actorId, string? name, string? description, long now);
    Task<GroupOutcome> SetAdminAsync(string groupId, string actorId, string memberId, bool admin, long now);

    /// <summary>Stores a message with the chat's next seq, bumps activity and counters, all in one
    /// transaction; a known (chat, sender, clientMessageId) returns the original instead.</summary>
    Task<SendResult> SendMessageAsync(NewMessage message, string? originConnectionId);

    Task<MessageRecord?> GetMessageAsync(string messageId);

    /// <summary>Replaces a message's text (sender only; not deleted or system messages) and records a
    /// <see cref="EventKind.MessageUpdated"/> event.</summary>
    Task<MessageChange> EditMessageAsync(string messageId, string userId, string content, long now);
    /// <summary>Deletes a message for everyone (sender only): its content goes, the message stays as deleted.</summary>
    Task<MessageChange> DeleteMessageForEveryoneAsync(string messageId, string userId, long now);
    /// <summary>Hides a message from one member's history only.</summary>
    Task<ChangeOutcome> HideMessageAsync(string messageId, string userId);
    /// <summary>The messages of a chat that <paramref name="userId"/> hid (<see cref="HideMessageAsync"/>),
    /// in no particular order: every copy the user reads (summary, sync, export) leaves them out.</summary>
    Task<IReadOnlyList<HiddenMessage>> GetHiddenMessagesAsync(string userId, string chatId);
    /// <summary>The chats in which <paramref name="userId"/> ever hid a message (possibly a few more
    /// whose hidden messages have since gone): one read, so that a chat list or a sync page reads
    /// <see cref="GetHiddenMessagesAsync"/> only for those chats, not for every chat.</summary>
    Task<IReadOnlySet<string>> ChatsWithHiddenMessagesAsync(string userId);
    /// <summary>A page of a chat's history as <paramref name="viewerId"/> sees it, newest first: messages with
    /// pos in (<paramref name="afterPos"/>, <paramref name="beforePos"/>), without those the viewer hid.</summary>
    Task<IReadOnlyList<MessageRecord>> GetMessagesAsync(string chatId, string viewerId, long afterPos, long beforePos, int limit);

    /// <summary>The chat's members and, when <paramref name="viewerId"/> is one of them, a page of
    /// history as <see cref="GetMessagesAsync"/> gives it from when they joined (null otherwise).
    /// A store may read both at once.</summary>
    async Task<(IReadOnlyList<MemberRecord> Members, IReadOnlyList<MessageRecord>? Messages)> GetHistoryPageAsync(
        string chatId, string viewerId, long beforePos, int limit)
    {
        var members = await GetMembersAsync(chatId);
        var viewer = members.FirstOrDefault(m => m.UserId == viewerId);
        return (members, viewer is null ? null : await GetMessagesAsync(chatId, viewerId, viewer.JoinedPos, beforePos, limit));
    }

    /// <summary>Moves a member's delivered (or read, which implies delivered) watermark forward to
    /// <paramref name="upToSeq"/>; never backward. Returns false when nothing moved.</summary>
    Task<bool> AdvanceWatermarkAsync(string chatId, string userId, long upToSeq, bool read, long now);

}

/// <summary>The events a user must not miss, read back for resume (<c>/sync</c>, <c>/ws?since=</c>).</summary>
public interface IEventLog
{
    /// <summary>Everything committed so far (the cursor a fresh client starts from).</summary>
    Task<StreamCursor> CurrentCursorAsync();

    /// <summary>Every event for the user that <paramref name="since"/> does not cover, in position
    /// order (so each chat's in order).</summary>
    Task<SyncPage> SyncAsync(string userId, StreamCursor since, int limit);
}

/// <summary>Receives committed events in position order (the real-time fan-out).</summary>
public interface IEventPublisher
{
    void Publish(StoredEvent e);
}
