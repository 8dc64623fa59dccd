using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Parley.Server.Common;

namespace Parley.Server.Auth;

/// <summary>Authenticates <c>Authorization: Bearer {accessToken}</c>, or on the WebSocket path
/// the <c>token</c> query parameter (browsers cannot set headers on a WebSocket).</summary>
public sealed class BearerAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, AccessTokenCheck check)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";
    private const string FailureKey = "parley.auth.failure";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var token = TokenFrom(Request);
        if (token is null) return AuthenticateResult.NoResult();
        var result = await check.CheckAsync(token, Context.RequestAborted);
        if (result.UserId is not { } userId)
        {
            Context.Items[FailureKey] = result.Failure;
            return AuthenticateResult.Fail(result.Failure);
        }
        List<Claim> claims = [new Claim(ClaimTypes.NameIdentifier, userId)];
        if (result.SessionId is not null) claims.Add(new Claim(SessionClaim, result.SessionId));
        claims.Add(new Claim(IssuedAtClaim, result.IssuedAt.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var identity = new ClaimsIdentity(claims, SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    /// <summary>The claim holding the session id of the access token.</summary>
    public const string SessionClaim = "sid";
    /// <summary>The claim holding when the access token was issued (milliseconds since the epoch).</summary>
    public const string IssuedAtClaim = "iat_ms";

    public static string? TokenFrom(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return header["Bearer ".Length..].Trim();
        }
        if (request.Path.StartsWithSegments("/ws") && request.Query.TryGetValue("token", out var query) && query.Count == 1)
        {
            return query[0];
        }
        return null;
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Bearer";
        var message = Context.Items[FailureKey] as string ?? "Authentication required: send Authorization: Bearer {accessToken}.";
        return ApiError.WriteAsync(Context, StatusCodes.Status401Unauthorized, message);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ApiError.WriteAsync(Context, StatusCodes.Status403Forbidden, "You are not allowed to do this.");
}

public static class CurrentUser
{
    /// <summary>The authenticated user's id (only call behind RequireAuthorization).</summary>
    public static string UserId(this ClaimsPrincipal user) =>
        user.FindFirstValue(ClaimTypes.NameIdentifier) ?? throw new InvalidOperationException("No authenticated user.");

    /// <summary>The session of the access token, when it names one.</summary>
    public static string? SessionId(this ClaimsPrincipal user) => user.FindFirstValue(BearerAuthenticationHandler.SessionClaim);

    public static long TokenIssuedAt(this ClaimsPrincipal user) =>
        long.TryParse(user.FindFirstValue(BearerAuthenticationHandler.IssuedAtClaim), System.Globalization.CultureInfo.InvariantCulture, out var at) ? at : 0;
}
