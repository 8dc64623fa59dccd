namespace Parley.Server.Storage;

/// <summary>A browser's Web Push subscription: where to send (the push service's endpoint) and the
/// keys to encrypt for (RFC 8291), as the browser gave them (base64url).</summary>
public sealed record PushSubscriptionRecord(string Endpoint, string UserId, string P256dh, string Auth, long CreatedAt);

/// <summary>Web Push subscriptions and the server's own long-lived secrets.</summary>
public interface IPushStore
{
    /// <summary>Stores (or moves to this user) the subscription of one endpoint; false when the user
    /// already has <paramref name="maxPerUser"/> others.</summary>
    Task<bool> AddPushSubscriptionAsync(PushSubscriptionRecord subscription, int maxPerUser);

    /// <summary>Removes the user's subscription of this endpoint; false when there was none.</summary>
    Task<bool> RemovePushSubscriptionAsync(string userId, string endpoint);

    /// <summary>Removes a subscription that can no longer be sent to (the push service said it is
    /// gone, or its keys can no longer be read), only while the store holds it as it was read: the
    /// same endpoint, user and sealed auth secret. A browser that registered its endpoint again
    /// meanwhile (after a secrets reset, say) keeps its new subscription.</summary>
    Task DeletePushSubscriptionAsync(PushSubscriptionRecord subscription);

    Task<IReadOnlyList<PushSubscriptionRecord>> GetPushSubscriptionsAsync(IReadOnlyCollection<string> userIds);

    /// <summary>Stores the value under the name unless one is there already; returns the stored one,
    /// so every node and restart uses the same (the VAPID key pair).</summary>
    Task<string> GetOrAddServerSecretAsync(string name, string candidate, long now);

    /// <summary>Every member's settings of one chat, by user id.</summary>
    Task<IReadOnlyDictionary<string, ChatSettings>> GetMemberSettingsAsync(string chatId);
}

/// <summary>What a user's data export reads.</summary>
public interface IExportStore
{
    /// <summary>Chats the user is in or has left (their messages there are still theirs).</summary>
    Task<IReadOnlyList<string>> GetChatIdsEverJoinedAsync(string userId);

    /// <summary>The user's own messages in a chat that are not deleted, oldest first, after a position.</summary>
    Task<IReadOnlyList<MessageRecord>> GetOwnMessagesAsync(string userId, string chatId, long afterPos, int limit);
}
