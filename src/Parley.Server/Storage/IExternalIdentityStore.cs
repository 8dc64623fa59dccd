namespace Parley.Server.Storage;

/// <summary>Which Parley user an account of an external OIDC issuer (Cognito or another) is.
/// An (issuer, subject) pair maps to exactly one user for good: the mapping outlives the
/// account's deletion, so a deleted account's identity cannot be signed in again silently.</summary>
public interface IExternalIdentityStore
{
    /// <summary>The user the issuer's subject maps to, or null when it maps to none yet.</summary>
    Task<ExternalIdentityRecord?> FindExternalIdentityAsync(string issuer, string subject);

    /// <summary>Creates <paramref name="user"/> and maps the subject to it, in one transaction.
    /// When the subject got mapped meanwhile (another request or node was first), nothing is
    /// created and that mapping is returned. An email or phone number another account owns is
    /// left off the new user: an external sign-in never takes over an existing account.</summary>
    Task<ExternalIdentityRecord> AddExternalUserAsync(string issuer, string subject, UserRecord user);
}

/// <summary>A subject's user; <see cref="UserDeleted"/> when that account has been deleted.</summary>
public sealed record ExternalIdentityRecord(string UserId, bool UserDeleted);
