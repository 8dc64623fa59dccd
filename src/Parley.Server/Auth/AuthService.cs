using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Parley.Server.Common;
using Parley.Server.Configuration;
using Parley.Server.Storage;

namespace Parley.Server.Auth;

/// <summary>Accounts and sessions: creating users, checking passwords, issuing and rotating tokens,
/// one-time codes.</summary>
public sealed class AuthService(
    IAccountStore store, ISecurityStore sessions, PasswordHasher hasher, TokenService tokens, ICodeSender codes,
    IOptions<ParleyOptions> options, TimeProvider clock, SessionRevocations revocations)
{
    public const string ConfirmPurpose = "confirm";
    public const string ResetPurpose = "reset";

    public async Task<UserRecord?> CreateUserAsync(string? email, string? phone, string password, string name, bool confirmed)
    {
        var trimmedName = name.Trim();
        var user = new UserRecord(
            Id: Guid.NewGuid().ToString(),
            Email: email is null ? null : Validation.NormalizeEmail(email),
            PhoneNumber: phone?.Trim(),
            Name: trimmedName,
            About: null,
            Avatar: Validation.Initials(trimmedName),
            PhotoMediaId: null,
            PasswordHash: await Task.Run(() => hasher.Hash(password)),
            Confirmed: confirmed,
            CreatedAt: clock.NowMs(),
            LastSeen: 0);
        return await store.CreateUserAsync(user) ? user : null;
    }

    /// <summary>A new sign-up of a number nobody confirmed: its password and name replace the earlier ones.</summary>
    public async Task<UserRecord> ReclaimUnconfirmedAsync(UserRecord user, string password, string name)
    {
        await store.SetPasswordAsync(user.Id, await Task.Run(() => hasher.Hash(password)));
        var trimmed = name.Trim();
        return await store.UpdateProfileAsync(user.Id, trimmed, null, Validation.Initials(trimmed)) ?? user;
    }

    /// <summary>The user when the password matches, else null. Unknown accounts cost the same
    /// hashing work, so timing does not tell which accounts exist.</summary>
    public async Task<UserRecord?> CheckPasswordAsync(UserRecord? user, string password)
    {
        // An account without a Parley password (made from an external identity) costs the same work too.
        if (user is null || user.PasswordHash == External.ExternalAccounts.NoPassword)
        {
            await Task.Run(() => hasher.VerifyAgainstNothing(password));
            return null;
        }
        return await Task.Run(() => hasher.Verify(password, user.PasswordHash)) ? user : null;
    }

    public async Task<LoginResponse> IssueSessionAsync(UserRecord user)
    {
        var session = Guid.NewGuid().ToString("N");
        var (refresh, record) = NewRefreshToken(user.Id, session);
        await store.AddRefreshTokenAsync(record);
        return new LoginResponse(tokens.CreateAccessToken(user.Id, session), refresh, tokens.CreateIdToken(user), tokens.AccessTokenSeconds,
            new TokenUser(user.Id, user.Email, user.Name, user.PhoneNumber));
    }

    public async Task<(RefreshOutcome Outcome, RefreshResponse? Response)> RefreshAsync(string refreshToken)
    {
        if (options.Value.Auth.RefreshTokenReuse == RefreshTokenReuse.Reuse)
        {
            // As Cognito: the same refresh token until it expires or its session ends.
            var hash = HashToken(refreshToken);
            var owner = await store.FindLiveRefreshTokenAsync(hash, clock.NowMs());
            var session = owner is null ? null : await sessions.FindRefreshSessionAsync(hash);
            var holder = session is null ? null : await store.GetUserAsync(session.Value.UserId);
            if (holder is null) return (RefreshOutcome.Invalid, null);
            return (RefreshOutcome.Rotated, new RefreshResponse(tokens.CreateAccessToken(holder.Id, session!.Value.SessionId), tokens.CreateIdToken(holder),
                refreshToken, tokens.AccessTokenSeconds));
        }
        string? issued = null;
        var rotation = await store.RotateRefreshTokenAsync(HashToken(refreshToken), (userId, family) =>
        {
            var (token, record) = NewRefreshToken(userId, family);
            issued = token;
            return record;
        }, clock.NowMs());
        if (rotation.Outcome == RefreshOutcome.Reused)
        {
            // A used token came back: someone holds a copy. The whole session ends, access tokens and sockets too.
            await revocations.RevokeSessionAsync(rotation.UserId!, rotation.SessionId!);
        }
        if (rotation.Outcome != RefreshOutcome.Rotated) return (rotation.Outcome, null);
        var user = await store.GetUserAsync(rotation.UserId!);
        if (user is null) return (RefreshOutcome.Invalid, null);
        return (RefreshOutcome.Rotated, new RefreshResponse(tokens.CreateAccessToken(user.Id, rotation.SessionId!), tokens.CreateIdToken(user), issued!,
            tokens.AccessTokenSeconds));
    }

    /// <summary>Ends the session the refresh token belongs to: its refresh tokens, access tokens and sockets.</summary>
    public async Task LogoutAsync(string refreshToken)
    {
        if (await sessions.FindRefreshSessionAsync(HashToken(refreshToken)) is var (userId, sessionId))
        {
            await revocations.RevokeSessionAsync(userId, sessionId);
        }
    }

    public async Task SendCodeAsync(UserRecord user, string purpose, string destination)
    {
        var code = RandomNumberGenerator.GetInt32(0, 1_000_000).ToString("D6");
        var expires = clock.NowMs() + options.Value.Auth.CodeMinutes * 60_000L;
        await store.SaveCodeAsync(user.Id, purpose, HashCode(user.Id, code), expires);
        await codes.SendAsync(destination, purpose, code);
    }

    public Task<CodeCheck> CheckCodeAsync(UserRecord user, string purpose, string code) =>
        store.CheckCodeAsync(user.Id, purpose, HashCode(user.Id, code.Trim()), clock.NowMs(), options.Value.Auth.CodeAttempts);

    /// <summary>Sets a new password and ends every session of the user; a reset by a code sent to
    /// the phone also confirms the number.</summary>
    public async Task ResetPasswordAsync(UserRecord user, string newPassword, bool confirmsPhone = false)
    {
        await store.SetPasswordAsync(user.Id, await Task.Run(() => hasher.Hash(newPassword)));
        if (confirmsPhone && !user.Confirmed) await store.ConfirmUserAsync(user.Id);
        await revocations.RevokeAllAsync(user.Id);
    }

    private (string Token, RefreshTokenRecord Record) NewRefreshToken(string userId, string family)
    {
        var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var now = clock.NowMs();
        var expires = now + options.Value.Auth.RefreshTokenDays * 86_400_000L;
        return (token, new RefreshTokenRecord(HashToken(token), userId, family, now, expires));
    }

    /// <summary>Refresh tokens carry 256 random bits, so one SHA-256 is enough to store them safely.</summary>
    private static string HashToken(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private static string HashCode(string userId, string code) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(userId + ":" + code)));
}
