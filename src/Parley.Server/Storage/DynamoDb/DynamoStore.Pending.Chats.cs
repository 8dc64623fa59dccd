namespace Parley.Server.Storage.DynamoDb;

// Chats, messages, events, settings, search, export: not written yet. Each method moves to its area's file once it is.
internal sealed partial class DynamoStore
{
    private static Dictionary<string, Amazon.DynamoDBv2.Model.AttributeValue> MediaKey(string mediaId) => Item.Record("media#" + mediaId, "-");

    public Task<IReadOnlyList<UserRecord>> SearchContactsAsync(string userId, string? search, string? exact, string? afterName, string? afterId, int limit) => throw new NotImplementedException();
    public Task<IReadOnlyList<string>> DeleteUserAsync(string userId, long now) => throw new NotImplementedException();
    public Task<(UserRecord? User, string? Forgotten)> SetPhotoAsync(string userId, string mediaId) => throw new NotImplementedException();
}
