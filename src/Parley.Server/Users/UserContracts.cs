using Parley.Server.Storage;

namespace Parley.Server.Users;

public sealed record UpdateProfileRequest(string? Name, string? About, string? Avatar);

public sealed record Profile(string Id, string? Email, string? PhoneNumber, string Name, string? Avatar, string? About, string? PhotoUrl, long CreatedAt)
{
    public static Profile From(UserRecord u) =>
        new(u.Id, u.Email, u.PhoneNumber, u.Name, u.Avatar, u.About, PhotoUrlOf(u), u.CreatedAt);

    public static string? PhotoUrlOf(UserRecord u) => u.PhotoMediaId is null ? null : Media.MediaApi.Url(u.PhotoMediaId);
}

/// <summary>A user in search results. <see cref="Blocked"/>: whether the caller blocked them (for the contact panel).</summary>
public sealed record UserListItem(string UserId, string Name, string? Email, string? Avatar, string? PhotoUrl, bool Online, long LastSeen, string? About, bool Blocked);
