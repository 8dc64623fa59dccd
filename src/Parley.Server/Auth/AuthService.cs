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
    IAccountStore store, PasswordHasher hasher, TokenService tokens, ICodeSender codes,
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

    /// <summary>The user when the password matches, else null. Unknown accounts cost the same
    /// hashing work, so timing does not tell which accounts exist.</summary>
    public async Task<UserRecord?> CheckPasswordAsync(UserRecord? user, string password)
    {
        if (user is null)
        {
            await Task.Run(() => hasher.VerifyAgainstNothing(password));
            return null;
        }
        return await Task.Run(() => hasher.Verify(password, user.PasswordHash)) ? user : null;
    }

    public async Task<LoginResponse> IssueSessionAsync(UserRecord user)
    {
        var (refresh, record) = NewRefreshToken(user.Id, Guid.NewGuid().ToString("N"));
        await store.AddRefreshTokenAsync(record);
        return new LoginResponse(tokens.CreateAccessToken(user.Id), refresh, tokens.CreateIdToken(user), tokens.AccessTokenSeconds,
            new TokenUser(user.Id, user.Email, user.Name, user.PhoneNumber));
    }

    public async Task<(RefreshOutcome Outcome, RefreshResponse? Response)> RefreshAsync(string refreshToken)
    {
        string? issued = null;
        var rotation = await store.RotateRefreshTokenAsync(HashToken(refreshToken), (userId, family) =>
        {
            var (token, record) = NewRefreshToken(userId, family);
            issued = token;
            return record;
        }, clock.NowMs());
        if (rotation.Outcome != RefreshOutcome.Rotated) return (rotation.Outcome, null);
        var user = await store.GetUserAsync(rotation.UserId!);
        if (user is null) return (RefreshOutcome.Invalid, null);
        return (RefreshOutcome.Rotated, new RefreshResponse(tokens.CreateAccessToken(user.Id), tokens.CreateIdToken(user), issued!, tokens.AccessTokenSeconds));
    }

    public Task LogoutAsync(string refreshToken) => store.RevokeRefreshFamilyAsync(HashToken(refreshToken));

    public async Task SendCodeAsync(UserRecord user, string purpose, string destination)
    {
        var code = RandomNumberGenerator.GetInt32(0, 1_000_000).ToString("D6");
        var expires = clock.NowMs() + options.Value.Auth.CodeMinutes * 60_000L;
        await store.SaveCodeAsync(user.Id, purpose, HashCode(user.Id, code), expires);
        await codes.SendAsync(destination, purpose, code);
    }

    public Task<CodeCheck> CheckCodeAsync(UserRecord user, string purpose, string code) =>
        store.CheckCodeAsync(user.Id, purpose, HashCode(user.Id, code.Trim()), clock.NowMs(), options.Value.Auth.CodeAttempts);

    /// <summary>Sets a new password and ends every session of the user.</summary>
    public async Task ResetPasswordAsync(UserRecord user, string newPassword)
    {
        await store.SetPasswordAsync(user.Id, await Task.Run(() => hasher.Hash(newPassword)));
        await revocations.RevokeAsync(user.Id);
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

/// <summary>Ends a user's sessions now (password reset, account deletion): refresh tokens are
/// revoked and the moment is stored, so access tokens issued before it stop working on every node
/// and after restarts; this node's sockets of the user are closed at once. Checking a token reads
/// the moment through a short-lived cache, so other nodes see a revocation within seconds.</summary>
public sealed class SessionRevocations(IAccountStore store, TimeProvider clock)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (long RevokedAt, long ReadAt)> _cache = new();

    public event Action<string>? Revoked;

    public async Task RevokeAsync(string userId)
    {
        var now = clock.NowMs();
        await store.RevokeAllSessionsAsync(userId, now);
        _cache[userId] = (now, now);
        Revoked?.Invoke(userId);
    }

    /// <summary>Whether a token issued at <paramref name="issuedAtMs"/> predates the user's last revocation.</summary>
    public async ValueTask<bool> IsRevokedAsync(string userId, long issuedAtMs)
    {
        var now = clock.NowMs();
        if (!_cache.TryGetValue(userId, out var entry) || now - entry.ReadAt > CacheFor.TotalMilliseconds)
        {
            entry = (await store.GetSessionsRevokedAtAsync(userId), now);
            _cache[userId] = entry;
        }
        return issuedAtMs < entry.RevokedAt;
    }
}
