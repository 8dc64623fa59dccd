using System.Security.Cryptography;
using System.Text;
using Parley.Server.Common;
using Parley.Server.Storage;

namespace Parley.Server.Auth;

public sealed record MfaCodeRequest(string? Code);
public sealed record MfaSignInRequest(string? MfaToken, string? Code);
public sealed record MfaEnrolment(string Secret, string OtpauthUri);
public sealed record MfaEnabled(bool Enabled, IReadOnlyList<string> RecoveryCodes);
public sealed record MfaChallenge(bool MfaRequired, string MfaToken);

/// <summary>Two-step verification: TOTP codes from an authenticator app, or single-use recovery
/// codes (stored hashed). Each TOTP time step is accepted once per account, on any node, so a
/// code seen over someone's shoulder cannot be used again.</summary>
public sealed partial class TwoStep(ISecurityStore store, SecretSeal seal, TimeProvider clock, ILogger<TwoStep> logger)
{
    public const int RecoveryCodeCount = 10;
    public const string Issuer = "Parley";

    public enum Check { Accepted, Wrong, NotEnabled }

    public async Task<bool> IsEnabledAsync(string userId) => (await store.GetMfaAsync(userId))?.Enabled == true;

    /// <summary>A new secret, pending until confirmed; null when verification is already on.</summary>
    public async Task<MfaEnrolment?> EnrolAsync(UserRecord user)
    {
        var secret = Totp.NewSecret();
        if (!await store.BeginMfaAsync(user.Id, seal.SealBytes(secret, SecretSeal.TotpPurpose(user.Id)))) return null;
        return new MfaEnrolment(Totp.Base32(secret), Totp.Uri(secret, Issuer, user.Email ?? user.PhoneNumber ?? user.Id));
    }

    /// <summary>Turns verification on when the code matches the pending secret; the recovery codes
    /// are returned this once. Null when the code is wrong or nothing is pending.</summary>
    public async Task<IReadOnlyList<string>?> ConfirmAsync(string userId, string code)
    {
        var mfa = await store.GetMfaAsync(userId);
        if (mfa is null || mfa.Enabled || SecretOf(mfa) is not { } secret || Totp.MatchingStep(secret, code.Trim(), clock.NowMs()) is not long step) return null;
        var codes = Enumerable.Range(0, RecoveryCodeCount).Select(_ => NewRecoveryCode()).ToList();
        return await store.EnableMfaAsync(userId, codes.Select(c => HashRecoveryCode(userId, c)).ToList(), step) ? codes : null;
    }

    /// <summary>Checks a TOTP code (each time step once) or an unused recovery code (then spent).</summary>
    public async Task<Check> VerifyAsync(string userId, string code)
    {
        var mfa = await store.GetMfaAsync(userId);
        if (mfa is not { Enabled: true }) return Check.NotEnabled;
        code = code.Trim();
        if (SecretOf(mfa) is { } secret && Totp.MatchingStep(secret, code, clock.NowMs()) is long step)
        {
            return await store.UseMfaStepAsync(userId, step) ? Check.Accepted : Check.Wrong;
        }
        var normalized = NormalizeRecoveryCode(code);
        if (normalized is null) return Check.Wrong;
        return await store.UseRecoveryCodeAsync(userId, HashRecoveryCode(userId, normalized), clock.NowMs()) ? Check.Accepted : Check.Wrong;
    }

    public Task DisableAsync(string userId) => store.DisableMfaAsync(userId);

    /// <summary>The account's TOTP secret; null when it was sealed with a secrets key the server no
    /// longer has (after <c>secrets reset</c>). Then only a recovery code signs the account in, and
    /// it may enrol again: a sign-in answers as for a wrong code, never an error.</summary>
    private byte[]? SecretOf(MfaRecord mfa)
    {
        try
        {
            return seal.OpenBytes(mfa.Secret, SecretSeal.TotpPurpose(mfa.UserId));
        }
        catch (InvalidOperationException ex)
        {
            UnreadableSecret(logger, mfa.UserId, ex.Message);
            return null;
        }
    }

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "The TOTP secret of {UserId} cannot be opened ({Reason}); only a recovery code, or the two-step off command, lets the account in")]
    private static partial void UnreadableSecret(ILogger logger, string userId, string reason);

    private const string RecoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789";

    /// <summary>Ten characters (about 49 bits) shown as <c>xxxxx-xxxxx</c>.</summary>
    private static string NewRecoveryCode()
    {
        var chars = new char[10];
        for (var i = 0; i < chars.Length; i++) chars[i] = RecoveryAlphabet[RandomNumberGenerator.GetInt32(RecoveryAlphabet.Length)];
        return new string(chars, 0, 5) + "-" + new string(chars, 5, 5);
    }

    /// <summary>Lower case, dashes and spaces ignored; null when it cannot be a recovery code.</summary>
    private static string? NormalizeRecoveryCode(string code)
    {
        var letters = new string(code.ToLowerInvariant().Where(c => c is not ('-' or ' ')).ToArray());
        return letters.Length == 10 && letters.All(RecoveryAlphabet.Contains) ? letters[..5] + "-" + letters[5..] : null;
    }

    private static string HashRecoveryCode(string userId, string code) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("recovery:" + userId + ":" + code)));
}
