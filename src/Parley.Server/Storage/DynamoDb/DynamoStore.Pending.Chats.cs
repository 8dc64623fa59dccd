namespace Parley.Server.Storage.DynamoDb;

// Chats, messages, events, settings, search, export: not written yet. Each method moves to its area's file once it is.
internal sealed partial class DynamoStore
{
    public Task<IReadOnlyList<UserRecord>> SearchContactsAsync(string userId, string? search, string? exact, string? afterName, string? afterId, int limit) => throw new NotImplementedException();
    public Task<IReadOnlyList<string>> DeleteUserAsync(string userId, long now) => throw new NotImplementedException();
    public Task<(UserRecord? User, string? Forgotten)> SetPhotoAsync(string userId, string mediaId) => throw new NotImplementedException();
    public Task<ChatRecord?> GetChatAsync(string chatId) => throw new NotImplementedException();
    public Task<MemberRecord?> GetMemberAsync(string chatId, string userId) => throw new NotImplementedException();
    public Task<IReadOnlyList<MemberRecord>> GetMembersAsync(string chatId) => throw new NotImplementedException();
    public Task<IReadOnlyList<string>> GetChatIdsAsync(string userId) => throw new NotImplementedException();
    public Task<IReadOnlyList<ChatView>> ListChatsAsync(string userId) => throw new NotImplementedException();
    public Task<ChatView?> GetChatViewAsync(string chatId, string userId) => throw new NotImplementedException();
    public Task<IReadOnlyList<string>> GetContactsAsync(string userId, int maxGroupSize) => throw new NotImplementedException();
    public Task<(ChatRecord Chat, bool Created)> GetOrCreateDirectChatAsync(string chatId, string userA, string userB, long now) => throw new NotImplementedException();
    public Task<ChatRecord> CreateGroupAsync(string groupId, string name, string? description, string creatorId, IReadOnlyList<string> memberIds, long now) => throw new NotImplementedException();
    public Task<GroupChange> AddMembersAsync(string groupId, string actorId, IReadOnlyList<string> memberIds, long now) => throw new NotImplementedException();
    public Task<GroupChange> RemoveMemberAsync(string groupId, string actorId, string memberId, long now) => throw new NotImplementedException();
    public Task<GroupOutcome> UpdateGroupInfoAsync(string groupId, string actorId, string? name, string? description, long now) => throw new NotImplementedException();
    public Task<GroupOutcome> SetAdminAsync(string groupId, string actorId, string memberId, bool admin, long now) => throw new NotImplementedException();
    public Task<SendResult> SendMessageAsync(NewMessage message, string? originConnectionId) => throw new NotImplementedException();
    public Task<MessageRecord?> GetMessageAsync(string messageId) => throw new NotImplementedException();
    public Task<MessageChange> EditMessageAsync(string messageId, string userId, string content, long now) => throw new NotImplementedException();
    public Task<MessageChange> DeleteMessageForEveryoneAsync(string messageId, string userId, long now) => throw new NotImplementedException();
    public Task<ChangeOutcome> HideMessageAsync(string messageId, string userId) => throw new NotImplementedException();
    public Task<IReadOnlyList<MessageRecord>> GetMessagesAsync(string chatId, string viewerId, long afterPos, long beforePos, int limit) => throw new NotImplementedException();
    public Task<bool> AdvanceWatermarkAsync(string chatId, string userId, long upToSeq, bool read, long now) => throw new NotImplementedException();
    public Task<StreamCursor> CurrentCursorAsync() => throw new NotImplementedException();
    public Task<SyncPage> SyncAsync(string userId, StreamCursor since, int limit) => throw new NotImplementedException();
    public Task<IReadOnlyList<MessageRecord>> SearchMessagesAsync(string userId, IReadOnlyList<string> words, string? chatId, long beforePos, int limit, long now) => throw new NotImplementedException();
    public Task<IReadOnlyDictionary<string, ChatSettings>> GetChatSettingsAsync(string userId, string? onlyChatId) => throw new NotImplementedException();
    public Task<SettingsResult> UpdateChatSettingsAsync(string chatId, string userId, ChatSettingsChange change, long now) => throw new NotImplementedException();
    public Task<ExpiredMessages> ExpireMessagesAsync(long now, int max) => throw new NotImplementedException();
    public Task<IReadOnlyDictionary<string, ChatSettings>> GetMemberSettingsAsync(string chatId) => throw new NotImplementedException();
    public Task<IReadOnlyList<string>> GetChatIdsEverJoinedAsync(string userId) => throw new NotImplementedException();
    public Task<IReadOnlyList<MessageRecord>> GetOwnMessagesAsync(string userId, string chatId, long afterPos, int limit) => throw new NotImplementedException();
}
