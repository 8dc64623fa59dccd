using System.Text.Json;

namespace Parley.Server.Storage;

/// <summary>What a delete for everyone must also reach besides the message row: the attachment
/// (found through the stored media description) and the replies that quote it.</summary>
public static class DeletedContent
{
    /// <summary>The upload a message's stored media description names, if any.</summary>
    public static string? MediaIdOf(string? mediaJson)
    {
        if (mediaJson is null) return null;
        using var doc = JsonDocument.Parse(mediaJson);
        return doc.RootElement.TryGetProperty("mediaId", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : null;
    }
}
