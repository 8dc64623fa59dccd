using System.Security.Claims;
using Microsoft.Extensions.Options;
using Parley.Server.Auth;
using Parley.Server.Blobs;
using Parley.Server.Common;
using Parley.Server.Configuration;
using Parley.Server.Storage;

namespace Parley.Server.Media;

public sealed record MediaResponse(string MediaId, string ContentType, long Size, string Url);

public static class MediaApi
{
    public static IEndpointRouteBuilder MapMediaApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/media").WithTags("Media").RequireAuthorization();
        group.MapPost("/", Upload).Produces<MediaResponse>(StatusCodes.Status201Created);
        group.MapGet("/{mediaId}", Download).Produces<byte[]>(StatusCodes.Status200OK, "application/octet-stream", "image/jpeg", "image/png", "audio/mpeg", "video/mp4");
        return routes;
    }

    public static string Url(string mediaId) => "/media/" + mediaId;

    /// <summary>Stores an upload under a new id: the bytes in the blob store first, then the
    /// record that makes them reachable (a failure in between leaves only unreachable bytes).</summary>
    public static async Task<MediaRecord> SaveAsync(IMediaStore store, IBlobStore blobs, string uploaderId, string contentType, byte[] data, TimeProvider clock)
    {
        var media = new MediaRecord(Blobs.MediaIds.Prefix + Guid.NewGuid().ToString("N"), uploaderId, contentType, data.Length, clock.NowMs());
        await blobs.PutAsync(media.Id, data, contentType);
        await store.SaveMediaAsync(media);
        return media;
    }

    private static async Task<IResult> Upload(HttpRequest request, ClaimsPrincipal principal, IMediaStore store, IBlobStore blobs, IOptions<ParleyOptions> options, TimeProvider clock)
    {
        var contentType = MediaUploads.NormalizeContentType(request.ContentType);
        if (contentType is null) return ApiError.BadRequest("Set Content-Type to the file's media type, for example image/jpeg.");
        var (data, error) = await MediaUploads.ReadBodyAsync(request, options.Value.Limits.MaxMediaBytes);
        if (error is not null) return error;
        var media = await SaveAsync(store, blobs, principal.UserId(), contentType, data!, clock);
        return TypedResults.Json(new MediaResponse(media.Id, media.ContentType, media.Size, Url(media.Id)), AppJson.Options,
            statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> Download(string mediaId, HttpContext http, ClaimsPrincipal principal, IMediaStore store, IBlobStore blobs)
    {
        var media = await store.GetMediaAsync(mediaId);
        if (media is null || !await store.CanSeeMediaAsync(mediaId, principal.UserId())) return ApiError.NotFound("Media not found.");
        var data = await blobs.GetAsync(media.Id, http.RequestAborted);
        if (data is null) return ApiError.NotFound("Media not found.");
        // Uploads are served from the API's own origin: never let a browser run them as a page.
        var headers = http.Response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers.ContentSecurityPolicy = "sandbox; default-src 'none'";
        headers.CacheControl = "private, max-age=31536000, immutable";
        var inline = media.ContentType.StartsWith("image/", StringComparison.Ordinal) && media.ContentType != "image/svg+xml"
            || media.ContentType.StartsWith("audio/", StringComparison.Ordinal)
            || media.ContentType.StartsWith("video/", StringComparison.Ordinal);
        return inline
            ? TypedResults.File(data, media.ContentType)
            : TypedResults.File(data, "application/octet-stream", fileDownloadName: media.Id);
    }
}
