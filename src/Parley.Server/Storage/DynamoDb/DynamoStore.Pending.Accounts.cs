namespace Parley.Server.Storage.DynamoDb;

// Accounts, sessions, security, external identities, tickets, media, push: not written yet. Each method moves to its area's file once it is.
internal sealed partial class DynamoStore
{
    public Task<SigningKeyRecord> GetOrAddSigningKeyAsync(SigningKeyRecord candidate) => throw new NotImplementedException();
    public Task<bool> CreateUserAsync(UserRecord user) => throw new NotImplementedException();
    public Task<UserRecord?> GetUserAsync(string userId) => throw new NotImplementedException();
    public Task<IReadOnlyList<UserRecord>> GetUsersAsync(IReadOnlyCollection<string> userIds) => throw new NotImplementedException();
    public Task<UserRecord?> FindUserByEmailAsync(string email) => throw new NotImplementedException();
    public Task<UserRecord?> FindUserByPhoneAsync(string phoneNumber) => throw new NotImplementedException();
    public Task<IReadOnlyList<UserRecord>> SearchUsersAsync(string excludeUserId, string? search, string? afterName, string? afterId, int limit) => throw new NotImplementedException();
    public Task<UserRecord?> UpdateProfileAsync(string userId, string? name, string? about, string? avatar) => throw new NotImplementedException();
    public Task SetPasswordAsync(string userId, string passwordHash) => throw new NotImplementedException();
    public Task ConfirmUserAsync(string userId) => throw new NotImplementedException();
    public Task SetLastSeenAsync(string userId, long lastSeen) => throw new NotImplementedException();
    public Task SetBlockedAsync(string userId, string blockedId, bool blocked, long now) => throw new NotImplementedException();
    public Task<BlockList> GetBlocksAsync(string userId) => throw new NotImplementedException();
    public Task<bool> IsBlockedAsync(string userId, string blockedId) => throw new NotImplementedException();
    public Task AddRefreshTokenAsync(RefreshTokenRecord token) => throw new NotImplementedException();
    public Task<RefreshRotation> RotateRefreshTokenAsync(string presentedHash, Func<string, string, RefreshTokenRecord> replacement, long now) => throw new NotImplementedException();
    public Task<string?> FindLiveRefreshTokenAsync(string presentedHash, long now) => throw new NotImplementedException();
    public Task RevokeRefreshFamilyAsync(string presentedHash) => throw new NotImplementedException();
    public Task RevokeAllSessionsAsync(string userId, long now) => throw new NotImplementedException();
    public Task<long> GetSessionsRevokedAtAsync(string userId) => throw new NotImplementedException();
    public Task SaveCodeAsync(string userId, string purpose, string codeHash, long expiresAt) => throw new NotImplementedException();
    public Task<CodeCheck> CheckCodeAsync(string userId, string purpose, string codeHash, long now, int maxAttempts) => throw new NotImplementedException();
    public Task SaveMediaAsync(MediaRecord media) => throw new NotImplementedException();
    public Task<MediaRecord?> GetMediaAsync(string mediaId) => throw new NotImplementedException();
    public Task<IReadOnlySet<string>> KnownMediaAsync(IReadOnlyList<string> mediaIds) => throw new NotImplementedException();
    public Task<bool> CanSeeMediaAsync(string mediaId, string userId) => throw new NotImplementedException();
    public Task RevokeSessionAsync(string userId, string sessionId, long now) => throw new NotImplementedException();
    public Task<(string UserId, string SessionId)?> FindRefreshSessionAsync(string presentedHash) => throw new NotImplementedException();
    public Task<IReadOnlyList<SessionRevocation>> GetRevocationsAsync(long since) => throw new NotImplementedException();
    public Task PruneRevocationsAsync(long before) => throw new NotImplementedException();
    public Task<MfaRecord?> GetMfaAsync(string userId) => throw new NotImplementedException();
    public Task<bool> BeginMfaAsync(string userId, byte[] secret) => throw new NotImplementedException();
    public Task<bool> EnableMfaAsync(string userId, IReadOnlyList<string> recoveryCodeHashes, long step) => throw new NotImplementedException();
    public Task<bool> UseMfaStepAsync(string userId, long step) => throw new NotImplementedException();
    public Task<bool> UseRecoveryCodeAsync(string userId, string codeHash, long now) => throw new NotImplementedException();
    public Task DisableMfaAsync(string userId) => throw new NotImplementedException();
    public Task<ExternalIdentityRecord?> FindExternalIdentityAsync(string issuer, string subject) => throw new NotImplementedException();
    public Task<ExternalIdentityRecord> AddExternalUserAsync(string issuer, string subject, UserRecord user) => throw new NotImplementedException();
    public Task<bool> AddWsTicketAsync(string ticketHash, string userId, string? sessionId, long issuedAt, long expiresAt, long now, int maxOpen) => throw new NotImplementedException();
    public Task<WsTicketRecord?> RedeemWsTicketAsync(string ticketHash, long now) => throw new NotImplementedException();
    public Task<bool> AddPushSubscriptionAsync(PushSubscriptionRecord subscription, int maxPerUser) => throw new NotImplementedException();
    public Task<bool> RemovePushSubscriptionAsync(string userId, string endpoint) => throw new NotImplementedException();
    public Task DeletePushSubscriptionAsync(string endpoint) => throw new NotImplementedException();
    public Task<IReadOnlyList<PushSubscriptionRecord>> GetPushSubscriptionsAsync(IReadOnlyCollection<string> userIds) => throw new NotImplementedException();
    public Task<string> GetOrAddServerSecretAsync(string name, string candidate, long now) => throw new NotImplementedException();
}
