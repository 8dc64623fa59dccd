using System.Buffers.Text;
using System.Security.Claims;
using System.Text;
using Parley.Server.Auth;
using Parley.Server.Common;
using Parley.Server.Media;
using Parley.Server.Realtime;
using Parley.Server.Storage;

namespace Parley.Server.Users;

public static class UsersApi
{
    private const int DefaultPageSize = 20;
    private const int MaxPageSize = 100;

    public static IEndpointRouteBuilder MapUsersApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/users").WithTags("Users").RequireAuthorization();
        group.MapGet("/", Search);
        group.MapGet("/me", Me);
        group.MapPatch("/me", UpdateMe);
        group.MapDelete("/me", DeleteMe);
        group.MapPut("/me/photo", SetPhoto);
        group.MapPost("/{userId}/block", (string userId, ClaimsPrincipal principal, IAccountStore store, BlockCache blocks) =>
            SetBlocked(userId, true, principal, store, blocks));
        group.MapDelete("/{userId}/block", (string userId, ClaimsPrincipal principal, IAccountStore store, BlockCache blocks) =>
            SetBlocked(userId, false, principal, store, blocks));
        return routes;
    }

    private static async Task<IResult> Search(ClaimsPrincipal principal, IAccountStore store, Presence presence, HttpContext http,
        string? search, string? limit, string? after)
    {
        if (!Paging.TryParseLimit(limit, DefaultPageSize, MaxPageSize, out var pageSize, out var refusal)) return refusal!;
        if (search is { Length: > Validation.MaxEmailLength }) return ApiError.BadRequest("search is too long.");
        string? afterName = null, afterId = null;
        if (after is not null && !TryDecodeCursor(after, out afterName, out afterId)) return ApiError.BadRequest("after is not a valid page cursor.");

        var users = await store.SearchUsersAsync(principal.UserId(), search?.Trim(), afterName, afterId, pageSize);
        var blocks = await store.GetBlocksAsync(principal.UserId());
        var blockers = blocks.BlockedBy;
        if (users.Count == pageSize)
        {
            var last = users[^1];
            var query = QueryString.Create(new Dictionary<string, string?>
            {
                ["search"] = search ?? "", ["limit"] = pageSize.ToString(), ["after"] = EncodeCursor(last.Name, last.Id),
            });
            http.Response.Headers.Link = $"<{http.Request.PathBase}{http.Request.Path}{query}>; rel=\"next\"";
        }
        // Someone who blocked the caller shows no presence to them.
        return TypedResults.Json(users.Select(u => blockers.Contains(u.Id)
            ? new UserListItem(u.Id, u.Name, u.Email, u.Avatar, Profile.PhotoUrlOf(u), false, 0, u.About, blocks.Blocked.Contains(u.Id))
            : new UserListItem(u.Id, u.Name, u.Email, u.Avatar, Profile.PhotoUrlOf(u), presence.IsOnline(u.Id), presence.LastSeen(u), u.About, blocks.Blocked.Contains(u.Id))).ToList(), AppJson.Options);
    }

    private static string EncodeCursor(string name, string id) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(name + "\n" + id));

    private static bool TryDecodeCursor(string cursor, out string? name, out string? id)
    {
        name = id = null;
        try
        {
            var parts = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor)).Split('\n');
            if (parts.Length != 2) return false;
            (name, id) = (parts[0], parts[1]);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    public const int MaxPhotoBytes = 5 * 1024 * 1024;

    private static async Task<IResult> SetPhoto(HttpRequest request, ClaimsPrincipal principal, IAccountStore store, IMediaStore media, TimeProvider clock,
        ProfileAnnouncer announcer)
    {
        var (data, error) = await MediaUploads.ReadBodyAsync(request, MaxPhotoBytes);
        if (error is not null) return error;
        var contentType = MediaUploads.SniffImage(data);
        if (contentType is null) return ApiError.Status(StatusCodes.Status415UnsupportedMediaType, "A profile photo must be a JPEG, PNG or WebP image.");
        var userId = principal.UserId();
        var photo = await MediaApi.SaveAsync(media, userId, contentType, data!, clock);
        var user = await store.SetPhotoAsync(userId, photo.Id);
        if (user is not null) await announcer.AnnounceAsync(user);
        return user is null ? ApiError.NotFound("This account no longer exists.") : TypedResults.Json(Profile.From(user), AppJson.Options);
    }

    private static async Task<IResult> DeleteMe(ClaimsPrincipal principal, IAccountStore store, SessionRevocations revocations, TimeProvider clock)
    {
        var userId = principal.UserId();
        await store.DeleteUserAsync(userId, clock.NowMs());
        await revocations.RevokeAsync(userId);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> SetBlocked(string userId, bool blocked, ClaimsPrincipal principal, IAccountStore store, BlockCache blocks)
    {
        var me = principal.UserId();
        if (userId == me) return ApiError.BadRequest("You cannot block yourself.");
        if (userId.Length > 64 || await store.GetUserAsync(userId) is null) return ApiError.NotFound("User not found.");
        await blocks.SetBlockedAsync(me, userId, blocked);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> Me(ClaimsPrincipal principal, IAccountStore store)
    {
        var user = await store.GetUserAsync(principal.UserId());
        return user is null ? ApiError.NotFound("This account no longer exists.") : TypedResults.Json(Profile.From(user), AppJson.Options);
    }

    private static async Task<IResult> UpdateMe(UpdateProfileRequest body, ClaimsPrincipal principal, IAccountStore store, ProfileAnnouncer announcer)
    {
        var error = Validation.Text(body.Name, "name", Validation.MaxNameLength, required: body.Name is not null)
            ?? Validation.Text(body.About, "about", Validation.MaxAboutLength, required: false)
            ?? Validation.Text(body.Avatar, "avatar", 512, required: false);
        if (error is not null) return ApiError.BadRequest(error);
        var user = await store.UpdateProfileAsync(principal.UserId(), body.Name?.Trim(), body.About?.Trim(), body.Avatar?.Trim());
        if (user is not null) await announcer.AnnounceAsync(user);
        return user is null ? ApiError.NotFound("This account no longer exists.") : TypedResults.Json(Profile.From(user), AppJson.Options);
    }
}
