using Amazon.DynamoDBv2.Model;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>Media: <c>media#{id}</c> (<c>uploaderId, contentType, size, createdAt</c>). Who may see
/// it beyond the uploader comes from items the chat side writes: <c>photo#{id}</c> sk each user
/// whose profile shows it, and <c>mediachat#{id}</c> sk each chat it was sent to.</summary>
internal sealed partial class DynamoStore
{
    private static Dictionary<string, AttributeValue> MediaKey(string mediaId) => Item.Record("media#" + mediaId, "-");

    public async Task SaveMediaAsync(MediaRecord media)
    {
        var item = MediaKey(media.Id).With("uploaderId", media.UploaderId).With("contentType", media.ContentType)
            .With("size", media.Size).With("createdAt", media.CreatedAt);
        // Listed under its uploader first, so deleting the account finds every upload it may forget.
        await db.PutAsync(db.Records, Item.Record("uploads#" + media.UploaderId, media.Id)).ConfigureAwait(false);
        // Never over another upload: its uploader would change, and with it who may see it.
        if (!await db.PutNewAsync(db.Records, item, "pk").ConfigureAwait(false))
        {
            throw new InvalidOperationException("A media id was stored twice.");
        }
    }

    public async Task<MediaRecord?> GetMediaAsync(string mediaId) =>
        await db.GetAsync(db.Records, MediaKey(mediaId)).ConfigureAwait(false) is { } i
            ? new MediaRecord(mediaId, i.Str("uploaderId"), i.Str("contentType"), i.Long("size"), i.Long("createdAt"))
            : null;

    public async Task<IReadOnlySet<string>> KnownMediaAsync(IReadOnlyList<string> mediaIds)
    {
        var found = await db.GetManyAsync(db.Records, mediaIds.Distinct(StringComparer.Ordinal).Select(MediaKey), "pk").ConfigureAwait(false);
        return found.Select(i => i.Str("pk")["media#".Length..]).ToHashSet(StringComparer.Ordinal);
    }

    public async Task<bool> CanSeeMediaAsync(string mediaId, string userId)
    {
        if ((await GetMediaAsync(mediaId).ConfigureAwait(false))?.UploaderId == userId) return true;
        if ((await QueryRecordsAsync("photo#" + mediaId, limit: 1).ConfigureAwait(false)).Count > 0) return true;
        var chats = await QueryRecordsAsync("mediachat#" + mediaId).ConfigureAwait(false);
        if (chats.Count == 0) return false;
        var memberships = await db.GetManyAsync(db.ChatMembers, chats.Select(c => Item.Key("chatId", c.Str("sk"), "userId", userId))).ConfigureAwait(false);
        return memberships.Any(m => !m.ContainsKey("leftAt"));
    }
}
