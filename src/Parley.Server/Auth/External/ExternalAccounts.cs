using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Parley.Server.Common;
using Parley.Server.Storage;

namespace Parley.Server.Auth.External;

/// <summary>
/// Which Parley user an external account is. The first token of an unknown subject creates a user
/// from the token's claims (so an existing user pool keeps working without a migration); every
/// later token of that subject maps to the same user. Known mappings are kept in memory, so a
/// request with an external token costs no store read once its subject has been seen.
/// <para>
/// An email or phone number is taken over only when the issuer says it is verified
/// (<c>email_verified</c>, <c>phone_number_verified</c>) and no other Parley account owns it.
/// An existing local account with that email is never attached to the external identity: the new
/// user simply has no email, and the local account keeps its own password sign-in.
/// </para>
/// </summary>
public sealed class ExternalAccounts
{
    /// <summary>The password hash of an account made from an external identity: not a hash, so no
    /// password ever matches it, and password reset is not offered for it.</summary>
    public const string NoPassword = "!external";
    public const string Deleted = "This account has been deleted.";

    /// <summary>How long a node trusts its memory of a mapping: a deletion on another node is seen within it.</summary>
    private static readonly TimeSpan RememberFor = TimeSpan.FromSeconds(60);

    private readonly ConcurrentDictionary<(string Issuer, string Subject), (string UserId, long At)> _known = new();
    private readonly IExternalIdentityStore _store;
    private readonly TimeProvider _clock;
    private readonly ILogger<ExternalAccounts> _logger;

    public ExternalAccounts(IExternalIdentityStore store, TimeProvider clock, SessionRevocations revocations, ILogger<ExternalAccounts> logger)
    {
        _store = store;
        _clock = clock;
        _logger = logger;
        // A deleted account's cached mapping must not outlive it on this node.
        revocations.Revoked += (userId, _, _) =>
        {
            foreach (var entry in _known)
            {
                if (entry.Value.UserId == userId) _known.TryRemove(entry.Key, out _);
            }
        };
    }

    /// <summary>The user id of the token's subject (created on first sight, with whether it was
    /// just created), or null when that account has been deleted.</summary>
    public async Task<(string? UserId, bool Created)> UserForAsync(ExternalToken token)
    {
        var key = (token.Issuer, token.Subject);
        var now = _clock.NowMs();
        if (_known.TryGetValue(key, out var cached) && now - cached.At < RememberFor.TotalMilliseconds) return (cached.UserId, false);
        var found = await _store.FindExternalIdentityAsync(token.Issuer, token.Subject);
        var created = false;
        if (found is null)
        {
            var user = NewUser(token.Jwt);
            found = await _store.AddExternalUserAsync(token.Issuer, token.Subject, user);
            created = found.UserId == user.Id;
            if (created) ExternalAuthLog.UserProvisioned(_logger, found.UserId, token.Issuer);
        }
        if (found.UserDeleted) return (null, false);
        _known[key] = (found.UserId, now);
        return (found.UserId, created);
    }

    private UserRecord NewUser(JsonWebToken jwt)
    {
        var name = ProfileName(jwt);
        var email = Claim(jwt, "email") is { } e && Validation.Email(e) is null && IsTrue(jwt, "email_verified")
            ? Validation.NormalizeEmail(e) : null;
        var phone = Claim(jwt, "phone_number") is { } p && Validation.Phone(p) is null && IsTrue(jwt, "phone_number_verified")
            ? p.Trim() : null;
        return new UserRecord(
            Id: Guid.NewGuid().ToString(),
            Email: email,
            PhoneNumber: phone,
            Name: name,
            About: null,
            Avatar: Validation.Initials(name),
            PhotoMediaId: null,
            PasswordHash: NoPassword,
            // The issuer confirmed whoever it issued the token to.
            Confirmed: true,
            CreatedAt: _clock.NowMs(),
            LastSeen: 0);
    }

    /// <summary>The profile name from the usual claims, falling back to the user name at the issuer
    /// (a Cognito access token has no profile claims), then to "User"; cut to Parley's limit.</summary>
    private static string ProfileName(JsonWebToken jwt)
    {
        var given = Claim(jwt, "given_name");
        var family = Claim(jwt, "family_name");
        var name = Claim(jwt, "name")
            ?? (given is not null || family is not null ? $"{given} {family}".Trim() : null)
            ?? Claim(jwt, "preferred_username") ?? Claim(jwt, "cognito:username") ?? Claim(jwt, "username")
            ?? "User";
        name = new string(name.Where(c => !char.IsControl(c)).ToArray()).Trim();
        if (name.Length == 0) name = "User";
        return TextLength.First(name, Validation.MaxNameLength).Trim();
    }

    private static string? Claim(JsonWebToken jwt, string name) =>
        jwt.TryGetPayloadValue<string>(name, out var value) && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

    /// <summary>A boolean claim; Cognito has sent some as the strings "true"/"false".</summary>
    private static bool IsTrue(JsonWebToken jwt, string name) =>
        (jwt.TryGetPayloadValue<bool>(name, out var flag) && flag)
        || (jwt.TryGetPayloadValue<string>(name, out var text) && text == "true");
}
