using Parley.Server.Common;
using Parley.Server.Storage;

namespace Parley.Server.Auth.External;

public sealed record ExternalSignInRequest(string? IdToken);
public sealed record ExternalSignInResponse(string UserId, string? Email, string? PhoneNumber, string Name, bool Created);

/// <summary><c>POST /auth/external</c>: a client signed in at an external issuer sends its id token
/// once, so the Parley account is made from the profile claims the id token carries (a Cognito
/// access token has none). Later calls answer the same account. API calls then use the access token.</summary>
public static class ExternalAuthApi
{
    public static void MapExternalAuthApi(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/auth/external", SignIn).WithTags("Auth").AllowAnonymous().Produces<ExternalSignInResponse>();
    }

    private static async Task<IResult> SignIn(ExternalSignInRequest body, ExternalTokens tokens, ExternalAccounts accounts,
        SessionRevocations revocations, IAccountStore store, AuthThrottle throttle, HttpContext http)
    {
        if (await throttle.TakeIpAttemptAsync(http) is { } wait) return ApiError.TooManyRequests(wait);
        if (!tokens.Enabled) return ApiError.NotFound("No external issuer is configured.");
        if (string.IsNullOrWhiteSpace(body.IdToken)) return ApiError.BadRequest("idToken is required.");
        var (token, failure) = await tokens.ValidateAsync(body.IdToken, ExternalTokenKind.Id, http.RequestAborted);
        if (token is null) return ApiError.Unauthorized(failure);
        var (userId, created) = await accounts.UserForAsync(token);
        if (userId is null || revocations.IsRevoked(userId, null, token.IssuedAtMs)) return ApiError.Unauthorized(ExternalAccounts.Deleted);
        var user = await store.GetUserAsync(userId);
        if (user is null) return ApiError.Unauthorized(ExternalAccounts.Deleted);
        return TypedResults.Json(new ExternalSignInResponse(user.Id, user.Email, user.PhoneNumber, user.Name, created), AppJson.Options);
    }
}
