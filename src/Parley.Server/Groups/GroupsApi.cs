using System.Security.Claims;
using Parley.Server.Auth;
using Parley.Server.Chats;
using Parley.Server.Common;
using Parley.Server.Storage;
using Parley.Server.Storage.Rules;

namespace Parley.Server.Groups;

public sealed record CreateGroupRequest(string? Name, string? Description, string[]? MemberIds);
public sealed record AddMembersRequest(string[]? MemberIds);
public sealed record GroupInfoRequest(string? Name, string? Description);
public sealed record MembersAnswer(bool Success, IReadOnlyList<string> Members);
public sealed record SuccessAnswer(bool Success);

public static class GroupsApi
{
    public const int MaxGroupNameLength = 100;
    public const int MaxDescriptionLength = 512;
    public const int MaxMembersPerRequest = 1000;

    public static IEndpointRouteBuilder MapGroupsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/groups").WithTags("Groups").RequireAuthorization();
        group.MapPost("/", Create).Produces<ChatSummary>(StatusCodes.Status201Created);
        group.MapPost("/{groupId}/members", AddMembers).Produces<MembersAnswer>();
        group.MapDelete("/{groupId}/members/{memberId}", RemoveMember).Produces<MembersAnswer>();
        group.MapPut("/{groupId}/info", UpdateInfo).Produces<SuccessAnswer>();
        group.MapPost("/{groupId}/admins/{memberId}", MakeAdmin).Produces(StatusCodes.Status204NoContent);
        group.MapDelete("/{groupId}/admins/{memberId}", (string groupId, string memberId, ClaimsPrincipal principal, IChatStore store, TimeProvider clock) =>
            SetAdmin(groupId, memberId, false, principal, store, clock)).Produces(StatusCodes.Status204NoContent);
        return routes;
    }

    private static async Task<IResult> Create(CreateGroupRequest body, ClaimsPrincipal principal, IChatStore store, IAccountStore accounts, ChatSummaries summaries, TimeProvider clock)
    {
        var error = Validation.Name(body.Name, "name", MaxGroupNameLength, required: true)
            ?? Validation.Text(body.Description, "description", MaxDescriptionLength, required: false);
        if (error is not null) return ApiError.BadRequest(error);
        var userId = principal.UserId();
        var (members, refusal) = await ExistingUsers(accounts, body.MemberIds ?? [], userId);
        if (refusal is not null) return refusal;
        var groupId = $"group_{clock.NowMs()}_{Guid.NewGuid().ToString("N")[..8]}";
        await store.CreateGroupAsync(groupId, body.Name!.Trim(), body.Description?.Trim(), userId, members, clock.NowMs());
        return JsonBytes.Result((await summaries.RenderAsync(groupId, userId))!, StatusCodes.Status201Created);
    }

    private static async Task<IResult> AddMembers(string groupId, AddMembersRequest body, ClaimsPrincipal principal, IChatStore store, IAccountStore accounts, TimeProvider clock)
    {
        if (body.MemberIds is null || body.MemberIds.Length == 0) return ApiError.BadRequest("memberIds must list at least one user id.");
        var userId = principal.UserId();
        if (await store.GetMemberAsync(groupId, userId) is null) return GroupNotFound();
        var (members, refusal) = await ExistingUsers(accounts, body.MemberIds, userId);
        if (refusal is not null) return refusal;
        var change = await store.AddMembersAsync(groupId, userId, members, clock.NowMs());
        return Answer(change.Outcome, () => TypedResults.Json(new MembersAnswer(true, change.Members), AppJson.Options));
    }

    private static async Task<IResult> RemoveMember(string groupId, string memberId, ClaimsPrincipal principal, IChatStore store, TimeProvider clock)
    {
        var change = await store.RemoveMemberAsync(groupId, principal.UserId(), memberId, clock.NowMs());
        return Answer(change.Outcome, () => TypedResults.Json(new MembersAnswer(true, change.Members), AppJson.Options));
    }

    private static async Task<IResult> UpdateInfo(string groupId, GroupInfoRequest body, ClaimsPrincipal principal, IChatStore store, TimeProvider clock)
    {
        if (body.Name is null && body.Description is null) return ApiError.BadRequest("name or description is required.");
        var error = Validation.Name(body.Name, "name", MaxGroupNameLength, required: body.Name is not null)
            ?? Validation.Text(body.Description, "description", MaxDescriptionLength, required: false);
        if (error is not null) return ApiError.BadRequest(error);
        var outcome = await store.UpdateGroupInfoAsync(groupId, principal.UserId(), body.Name?.Trim(), body.Description?.Trim(), clock.NowMs());
        return Answer(outcome, () => TypedResults.Json(new SuccessAnswer(true), AppJson.Options));
    }

    private static async Task<IResult> MakeAdmin(string groupId, string memberId, ClaimsPrincipal principal, IChatStore store, IAccountStore accounts,
        TimeProvider clock)
    {
        if (await DeletedAccountRefusal(groupId, memberId, principal.UserId(), store, accounts) is { } refusal) return refusal;
        return await SetAdmin(groupId, memberId, true, principal, store, clock);
    }

    private static async Task<IResult> SetAdmin(string groupId, string memberId, bool admin, ClaimsPrincipal principal, IChatStore store, TimeProvider clock)
    {
        var outcome = await store.SetAdminAsync(groupId, principal.UserId(), memberId, admin, clock.NowMs());
        return Answer(outcome, TypedResults.NoContent);
    }

    /// <summary>A deleted account leads no group. It leaves its groups when it is deleted, but one
    /// deleted before that was so (or while the server stopped half-way) may still be a member: it
    /// may be dismissed as admin or removed, never made one. Answered after the checks the store
    /// makes, so a caller who may not promote anyone here learns nothing of the account.</summary>
    private static async Task<IResult?> DeletedAccountRefusal(string groupId, string memberId, string callerId, IChatStore store, IAccountStore accounts)
    {
        if (memberId.Length > 64 || await accounts.GetUserAsync(memberId) is not { IsDeleted: true }) return null;
        var chat = await store.GetChatAsync(groupId);
        var caller = chat is { IsGroup: true } ? await store.GetMemberAsync(groupId, callerId) : null;
        var check = GroupRules.CheckActor(chat, caller, requireAdmin: true);
        if (check == GroupOutcome.Done && await store.GetMemberAsync(groupId, memberId) is null) check = GroupOutcome.NotMember;
        return check == GroupOutcome.Done
            ? ApiError.Status(StatusCodes.Status409Conflict, "A deleted account cannot be made an admin.")
            : Answer(check, TypedResults.NoContent);
    }

    private static IResult GroupNotFound() => ApiError.NotFound("Group not found.");

    private static IResult Answer(GroupOutcome outcome, Func<IResult> success) => outcome switch
    {
        GroupOutcome.Done => success(),
        GroupOutcome.NotAdmin => ApiError.Forbidden("Only group admins can do this."),
        GroupOutcome.NotMember => ApiError.NotFound("That user is not a member of this group."),
        GroupOutcome.LastAdmin => ApiError.Status(StatusCodes.Status409Conflict, "The last admin cannot step down; make someone else admin first."),
        _ => GroupNotFound(),
    };

    /// <summary>Distinct ids of existing users other than the caller; 400 naming the first unknown
    /// one. A deleted account is unknown here: it cannot join a group.</summary>
    private static async Task<(IReadOnlyList<string> Members, IResult? Refusal)> ExistingUsers(IAccountStore accounts, string[] ids, string callerId)
    {
        if (ids.Length > MaxMembersPerRequest) return ([], ApiError.BadRequest($"At most {MaxMembersPerRequest} members per request."));
        var distinct = ids.Where(id => id != callerId).Distinct().ToList();
        if (distinct.Any(string.IsNullOrWhiteSpace)) return ([], ApiError.BadRequest("memberIds must not contain empty ids."));
        var found = (await accounts.GetUsersAsync(distinct)).Where(u => !u.IsDeleted).Select(u => u.Id).ToHashSet();
        var unknown = distinct.FirstOrDefault(id => !found.Contains(id));
        return unknown is null ? (distinct, null) : ([], ApiError.BadRequest($"Unknown user id in memberIds: {TextLength.Shorten(unknown, 64)}."));
    }
}
