using Parley.Server.Auth.External;

namespace Parley.Server.Auth;

/// <summary>Whose an access token is: the user, session and issue time of a Parley token, or of a
/// token of a configured external issuer (its Parley user created on first sight). A token of a
/// session that has ended is refused. Used by the bearer scheme and, without the scheme's
/// per-request objects, by <c>/ws</c>, whose request lives as long as its socket.</summary>
public sealed class AccessTokenCheck(TokenService tokens, SessionRevocations revocations, ExternalTokens externalTokens, ExternalAccounts externalAccounts)
{
    public async Task<AccessTokenResult> CheckAsync(string token, CancellationToken cancel)
    {
        var userId = tokens.ValidateAccessToken(token, out var failure, out var issuedAt, out var sessionId);
        if (userId is null && externalTokens.IsFromExternalIssuer(token))
        {
            (userId, failure, issuedAt) = await CheckExternalAsync(token, cancel);
        }
        if (userId is not null && revocations.IsRevoked(userId, sessionId, issuedAt))
        {
            return AccessTokenResult.Refused("This session has ended; sign in again.");
        }
        return userId is null ? AccessTokenResult.Refused(failure) : new AccessTokenResult(userId, sessionId, issuedAt, "");
    }

    private async Task<(string? UserId, string Failure, long IssuedAt)> CheckExternalAsync(string token, CancellationToken cancel)
    {
        var (external, failure) = await externalTokens.ValidateAsync(token, ExternalTokenKind.Access, cancel);
        if (external is null) return (null, failure, 0);
        var (userId, _) = await externalAccounts.UserForAsync(external);
        return userId is null ? (null, ExternalAccounts.Deleted, 0) : (userId, "", external.IssuedAtMs);
    }
}

/// <summary>The user of an accepted token, or (<see cref="UserId"/> null) why it was refused.</summary>
public sealed record AccessTokenResult(string? UserId, string? SessionId, long IssuedAt, string Failure)
{
    public static AccessTokenResult Refused(string failure) => new(null, null, 0, failure);
}
