using System.Security.Claims;
using Microsoft.AspNetCore.Mvc;
using Parley.Server.Common;
using Parley.Server.Storage;

namespace Parley.Server.Auth;

/// <summary>Enrolment and removal of two-step verification (<c>/users/me/mfa</c>) and the second
/// step of a sign-in (<c>/auth/mfa</c>).</summary>
public static class TwoStepApi
{
    private const string WrongCode = "The code is wrong or was already used.";
    private const string TokenSpent =
        "This sign-in was already completed or saw too many wrong codes; sign in again with your password.";

    public static IEndpointRouteBuilder MapTwoStepApi(this IEndpointRouteBuilder routes)
    {
        var me = routes.MapGroup("/users/me/mfa").WithTags("Users").RequireAuthorization();
        me.MapGet("/", Status).Produces<MfaStatus>();
        me.MapPost("/", Enrol).Produces<MfaEnrolment>();
        me.MapPost("/confirm", Confirm).Produces<MfaEnabled>();
        me.MapDelete("/", Disable).Produces(StatusCodes.Status204NoContent);
        routes.MapPost("/auth/mfa", SignIn).WithTags("Auth").AllowAnonymous().Produces<LoginResponse>();
        return routes;
    }

    /// <summary>What a correct password answers: the session, or the challenge when verification is on.</summary>
    public static async Task<IResult> SignedInAsync(UserRecord user, AuthService auth, TwoStep twoStep, TokenService tokens)
    {
        if (await twoStep.IsEnabledAsync(user.Id))
        {
            return TypedResults.Json(new MfaChallenge(true, tokens.CreateMfaToken(user.Id)), AppJson.Options);
        }
        return TypedResults.Json(await auth.IssueSessionAsync(user), AppJson.Options);
    }

    private static async Task<IResult> Status(ClaimsPrincipal principal, TwoStep twoStep) =>
        TypedResults.Json(new MfaStatus(await twoStep.IsEnabledAsync(principal.UserId())), AppJson.Options);

    private static async Task<IResult> Enrol(ClaimsPrincipal principal, IAccountStore store, TwoStep twoStep)
    {
        var user = await store.GetUserAsync(principal.UserId());
        if (user is null) return ApiError.NotFound("This account no longer exists.");
        var enrolment = await twoStep.EnrolAsync(user);
        return enrolment is null
            ? ApiError.Conflict("Two-step verification is already on; turn it off first to enrol again.")
            : TypedResults.Json(enrolment, AppJson.Options);
    }

    private static async Task<IResult> Confirm(MfaCodeRequest body, ClaimsPrincipal principal, TwoStep twoStep, AuthThrottle throttle)
    {
        if (string.IsNullOrWhiteSpace(body.Code)) return ApiError.BadRequest("code is required.");
        var userId = principal.UserId();
        if (await throttle.BeginSignInAsync(ThrottleKey(userId)) is { } wait) return ApiError.TooManyRequests(wait);
        var codes = await twoStep.ConfirmAsync(userId, body.Code);
        if (codes is null) return ApiError.BadRequest("The code is wrong, or there is no enrolment to confirm (POST /users/me/mfa first).");
        await throttle.SucceededAsync(ThrottleKey(userId));
        return TypedResults.Json(new MfaEnabled(true, codes), AppJson.Options);
    }

    private static async Task<IResult> Disable([FromBody] MfaCodeRequest body, ClaimsPrincipal principal, TwoStep twoStep, AuthThrottle throttle)
    {
        if (string.IsNullOrWhiteSpace(body.Code)) return ApiError.BadRequest("code is required: a current code from the app, or a recovery code.");
        var userId = principal.UserId();
        if (await throttle.BeginSignInAsync(ThrottleKey(userId)) is { } wait) return ApiError.TooManyRequests(wait);
        switch (await twoStep.VerifyAsync(userId, body.Code))
        {
            case TwoStep.Check.NotEnabled:
                // Nothing to turn off; an enrolment that was never confirmed is dropped.
                await twoStep.DisableAsync(userId);
                return TypedResults.NoContent();
            case TwoStep.Check.Accepted:
                await throttle.SucceededAsync(ThrottleKey(userId));
                await twoStep.DisableAsync(userId);
                return TypedResults.NoContent();
            default:
                return ApiError.BadRequest(WrongCode);
        }
    }

    private static async Task<IResult> SignIn(MfaSignInRequest body, AuthService auth, TwoStep twoStep, TokenService tokens, AuthThrottle throttle,
        IAccountStore store, ISecurityStore security, TimeProvider clock, HttpContext http)
    {
        if (await throttle.TakeIpAttemptAsync(http) is { } wait) return ApiError.TooManyRequests(wait);
        if (string.IsNullOrWhiteSpace(body.MfaToken)) return ApiError.BadRequest("mfaToken is required.");
        if (string.IsNullOrWhiteSpace(body.Code)) return ApiError.BadRequest("code is required.");
        var userId = tokens.ValidateMfaToken(body.MfaToken, out var tokenId);
        if (userId is null) return ApiError.Unauthorized("The sign-in has expired or is invalid; sign in again.");
        // A try refused without a code being looked at costs nothing: the account's lock comes first,
        // so a locked account leaves the token its tries, and a spent token gives the account's back.
        if (await throttle.BeginSignInAsync(ThrottleKey(userId)) is { } lockedFor) return ApiError.TooManyRequests(lockedFor);
        if (!await security.TakeTryAsync(tokenId, clock))
        {
            await throttle.GiveBackAsync(ThrottleKey(userId));
            return ApiError.Unauthorized(TokenSpent);
        }
        var user = await store.GetUserAsync(userId);
        if (user is null) return ApiError.Unauthorized("The sign-in has expired or is invalid; sign in again.");
        if (await twoStep.VerifyAsync(userId, body.Code) != TwoStep.Check.Accepted) return ApiError.Unauthorized(WrongCode);
        await throttle.SucceededAsync(ThrottleKey(userId));
        // Two right codes (two recovery codes) sent at once with one token: only one gets a session.
        if (!await security.SpendAsync(tokenId, clock)) return ApiError.Unauthorized(TokenSpent);
        return TypedResults.Json(await auth.IssueSessionAsync(user), AppJson.Options);
    }

    /// <summary>Code guesses are limited per account, apart from password guesses.</summary>
    private static string ThrottleKey(string userId) => "mfa:" + userId;
}
