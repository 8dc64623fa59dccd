using Microsoft.AspNetCore.Http.Features;
using Parley.Server.Common;

namespace Parley.Server.Media;

/// <summary>Reads an uploaded body up to a size limit, and recognizes image formats by their bytes
/// (never by the Content-Type a client claims).</summary>
public static class MediaUploads
{
    /// <summary>The body, or an error answer (413 over the limit, 400 empty).</summary>
    public static async Task<(byte[]? Data, IResult? Error)> ReadBodyAsync(HttpRequest request, int maxBytes)
    {
        var sizeFeature = request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false }) sizeFeature.MaxRequestBodySize = maxBytes;
        if (request.ContentLength > maxBytes) return (null, TooLarge(maxBytes));
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        try
        {
            while ((read = await request.Body.ReadAsync(chunk)) > 0)
            {
                if (buffer.Length + read > maxBytes) return (null, TooLarge(maxBytes));
                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, TooLarge(maxBytes));
        }
        if (buffer.Length == 0) return (null, ApiError.BadRequest("The upload is empty."));
        return (buffer.ToArray(), null);
    }

    private static IResult TooLarge(int maxBytes) =>
        ApiError.Status(StatusCodes.Status413PayloadTooLarge, $"Uploads are limited to {maxBytes / (1024 * 1024)} MiB.");

    /// <summary>"image/jpeg", "image/png" or "image/webp" from the file's signature, else null.</summary>
    public static string? SniffImage(ReadOnlySpan<byte> data)
    {
        if (data.Length >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return "image/jpeg";
        if (data.Length >= 8 && data[..8].SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A })) return "image/png";
        if (data.Length >= 12 && data[..4].SequenceEqual("RIFF"u8) && data[8..12].SequenceEqual("WEBP"u8)) return "image/webp";
        return null;
    }

    /// <summary>A plain <c>type/subtype</c> media type, without parameters, or null when malformed.</summary>
    public static string? NormalizeContentType(string? contentType)
    {
        if (string.IsNullOrWhiteSpace(contentType)) return null;
        var bare = contentType.Split(';')[0].Trim().ToLowerInvariant();
        var slash = bare.IndexOf('/');
        // One slash: "a/b/c" is no media type, and a download would be served with it.
        if (slash <= 0 || slash == bare.Length - 1 || bare.Length > 100 || bare.IndexOf('/', slash + 1) >= 0) return null;
        return bare.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '/' or '.' or '+' or '-') ? bare : null;
    }
}
