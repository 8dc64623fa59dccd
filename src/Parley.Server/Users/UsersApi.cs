using System.Buffers.Text;
using System.Security.Claims;
using System.Text;
using Parley.Server.Auth;
using Microsoft.Extensions.Options;
using Parley.Server.Common;
using Parley.Server.Configuration;
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
        group.MapGet("/", Search).Produces<List<UserListItem>>();
        group.MapGet("/me", Me).Produces<Profile>();
        group.MapPatch("/me", UpdateMe).Produces<Profile>();
        group.MapDelete("/me", DeleteMe).Produces(StatusCodes.Status204NoContent);
        group.MapPut("/me/photo", SetPhoto).Produces<Profile>();
        group.MapPost("/{userId}/block", (string userId, ClaimsPrincipal principal, IAccountStore store, Blocking blocks) =>
            SetBlocked(userId, true, principal, store, blocks)).Produces(StatusCodes.Status204NoContent);
        group.MapDelete("/{userId}/block", (string userId, ClaimsPrincipal principal, IAccountStore store, Blocking blocks) =>
            SetBlocked(userId, false, principal, store, blocks)).Produces(StatusCodes.Status204NoContent);
        return routes;
    }

    private static async Task<IResult> Search(ClaimsPrincipal principal, IParleyStore store, Presence presence, HttpContext http,
        IOptions<ParleyOptions> options, string? search, string? limit, string? after)
    {
        if (!Paging.TryParseLimit(limit, DefaultPageSize, MaxPageSize, out var pageSize, out var refusal)) return refusal!;
        if (search is { Length: > Validation.MaxEmailLength }) return ApiError.BadRequest("search is too long.");
        string? afterName = null, afterId = null;
        if (after is not null && !TryDecodeCursor(after, out afterName, out afterId)) return ApiError.BadRequest("after is not a valid page cursor.");

        var me = principal.UserId();
        var trimmed = search?.Trim();
        IReadOnlyList<UserRecord> users;
        HashSet<string>? contacts = null;
        if (options.Value.Users.ContactsOnly)
        {
            // Only people the caller already shares a chat with, plus whoever they name exactly by
            // a full email address or phone number (how one finds a new contact).
            var exact = string.IsNullOrEmpty(trimmed) ? null : Validation.NormalizeEmail(trimmed);
            users = await store.SearchContactsAsync(me, trimmed, exact, afterName, afterId, pageSize);
            contacts = [.. await store.GetContactsAsync(me)];
        }
        else
        {
            users = await store.SearchUsersAsync(me, trimmed, afterName, afterId, pageSize);
        }
        var blocks = await store.GetBlocksAsync(me);
        if (users.Count == pageSize)
        {
            var last = users[^1];
            var query = QueryString.Create(new Dictionary<string, string?>
            {
                ["search"] = search ?? "", ["limit"] = pageSize.ToString(), ["after"] = EncodeCursor(last.Name, last.Id),
            });
            http.Response.Headers.Link = $"<{http.Request.PathBase}{http.Request.Path}{query}>; rel=\"next\"";
        }
        // A block either way (someone who blocked the caller, or whom the caller blocked) shows no presence. In the contacts directory, someone
        // found by an exact address without a shared chat is a stranger: their name and photo show (so
        // the caller knows whom they found), their presence and about do not, nor their email when it
        // was their phone number that was named.
        var namedEmail = Validation.NormalizeEmail(trimmed ?? "");
        UserListItem ItemOf(UserRecord u)
        {
            var stranger = contacts is not null && !contacts.Contains(u.Id);
            var hidden = stranger || blocks.EitherWay(u.Id);
            return new UserListItem(u.Id, u.Name, !stranger || u.Email == namedEmail ? u.Email : null, u.Avatar, Profile.PhotoUrlOf(u),
                !hidden && presence.IsOnline(u.Id), hidden ? 0 : presence.LastSeen(u), stranger ? null : u.About, blocks.Blocked.Contains(u.Id));
        }
        return TypedResults.Json(users.Select(ItemOf).ToList(), AppJson.Options);
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

    private static async Task<IResult> SetPhoto(HttpRequest request, ClaimsPrincipal principal, IAccountStore store, IMediaStore media,
        Blobs.IBlobStore blobs, Blobs.BlobDeletions blobDeletions, TimeProvider clock, ProfileAnnouncer announcer)
    {
        var (data, error) = await MediaUploads.ReadBodyAsync(request, MaxPhotoBytes);
        if (error is not null) return error;
        var contentType = MediaUploads.SniffImage(data);
        if (contentType is null) return ApiError.Status(StatusCodes.Status415UnsupportedMediaType, "A profile photo must be a JPEG, PNG or WebP image.");
        var userId = principal.UserId();
        var photo = await MediaApi.SaveAsync(media, blobs, userId, contentType, data!, clock);
        var (user, replaced) = await store.SetPhotoAsync(userId, photo.Id);
        // The old photo is gone with its bytes unless a chat shows it.
        if (replaced is not null) await blobDeletions.DeleteAsync([replaced]);
        if (user is not null) await announcer.AnnounceAsync(user);
        return user is null ? ApiError.NotFound("This account no longer exists.") : TypedResults.Json(Profile.From(user), AppJson.Options);
    }

    private static async Task<IResult> DeleteMe(ClaimsPrincipal principal, AccountDeletion deletion)
    {
        await deletion.DeleteAsync(principal.UserId());
        return TypedResults.NoContent();
    }

    private static async Task<IResult> SetBlocked(string userId, bool blocked, ClaimsPrincipal principal, IAccountStore store, Blocking blocks)
    {
        var me = principal.UserId();
        if (userId == me) return ApiError.BadRequest("You cannot block yourself.");
        // A deleted account is no user to block (answered as an unknown id); unblocking one is
        // allowed, though deletion already dropped every block involving it.
        if (userId.Length > 64 || await store.GetUserAsync(userId) is not { } other || (blocked && other.IsDeleted))
        {
            return ApiError.NotFound("User not found.");
        }
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
        var error = Validation.Name(body.Name, "name", Validation.MaxNameLength, required: body.Name is not null)
            ?? Validation.Text(body.About, "about", Validation.MaxAboutLength, required: false)
            ?? (body.Avatar is null ? null : Validation.Avatar(body.Avatar.Trim()));
        if (error is not null) return ApiError.BadRequest(error);
        var user = await store.UpdateProfileAsync(principal.UserId(), body.Name?.Trim(), body.About?.Trim(), body.Avatar?.Trim());
        if (user is not null) await announcer.AnnounceAsync(user);
        return user is null ? ApiError.NotFound("This account no longer exists.") : TypedResults.Json(Profile.From(user), AppJson.Options);
    }
}
