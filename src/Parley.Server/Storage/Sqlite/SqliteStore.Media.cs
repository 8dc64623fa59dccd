namespace Parley.Server.Storage.Sqlite;

internal sealed partial class SqliteStore
{
    public Task SaveMediaAsync(MediaRecord media) => db.WriteAsync(w => w.Connection.Execute(
        "INSERT INTO media (id, uploader_id, content_type, size, created_at) VALUES ($1, $2, $3, $4, $5)",
        media.Id, media.UploaderId, media.ContentType, media.Size, media.CreatedAt));

    public Task<MediaRecord?> GetMediaAsync(string mediaId) => db.ReadAsync(c => c.QueryFirst(
        r => new MediaRecord(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt64(3), r.GetInt64(4)),
        "SELECT id, uploader_id, content_type, size, created_at FROM media WHERE id = $1", mediaId));

    public Task<IReadOnlySet<string>> KnownMediaAsync(IReadOnlyList<string> mediaIds) => db.ReadAsync<IReadOnlySet<string>>(c =>
        c.Query(r => r.GetString(0), "SELECT id FROM media WHERE id IN (SELECT value FROM json_each($1))",
            System.Text.Json.JsonSerializer.Serialize(mediaIds, StorageJsonContext.Default.IReadOnlyListString)).ToHashSet(StringComparer.Ordinal));

    public Task<bool> CanSeeMediaAsync(string mediaId, string userId) => db.ReadAsync(c => c.Scalar(
        """
        SELECT EXISTS (SELECT 1 FROM media WHERE id = $1 AND uploader_id = $2)
            OR EXISTS (SELECT 1 FROM media_chats mc JOIN members m ON m.chat_id = mc.chat_id WHERE mc.media_id = $1 AND m.user_id = $2)
            OR EXISTS (SELECT 1 FROM users WHERE photo_media_id = $1)
        """, mediaId, userId) != 0);
}
