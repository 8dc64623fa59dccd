using System.Security.Cryptography;
using System.Text;
using Parley.Server.Common;
using Parley.Server.Storage;

namespace Parley.Server.Auth;

/// <summary>
/// The uses of a two-step sign-in token (<see cref="TokenService.CreateMfaToken"/>): it is tried at
/// most <see cref="AllowedTries"/> times and spent by the session it produces. The count is an
/// allowance in the store (<see cref="StoredAllowance"/>), so every node and every backend refuse a
/// spent token alike, and a try costs one conditional write.
/// </summary>
public static class MfaTokenUses
{
    /// <summary>Codes one token may be tried with; past them the user signs in again with the
    /// password, which the account's own limit on failures counts.</summary>
    public const int AllowedTries = 5;

    /// <summary>Longer than the token can be accepted (its lifetime and the clock skew the check
    /// allows): the window starts at the first try, so the count outlives the token.</summary>
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(TokenService.MfaTokenSeconds) + TimeSpan.FromMinutes(1);

    /// <summary>Takes one try of the token; false when it is spent (used, or out of tries).</summary>
    public static async Task<bool> TakeTryAsync(this ISecurityStore store, string tokenId, TimeProvider clock) =>
        await store.TakeAllowanceAsync(Key(tokenId), Window, AllowedTries, clock) is null;

    /// <summary>Spends the token once its code was accepted; false when another request spent it first.</summary>
    public static Task<bool> SpendAsync(this ISecurityStore store, string tokenId, TimeProvider clock) =>
        store.SpendAttemptsAsync(Key(tokenId), clock.NowMs(), (long)Window.TotalMilliseconds);

    /// <summary>Hashed like the other allowance keys; the prefix keeps it apart from them.</summary>
    private static string Key(string tokenId) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("mfa-token:" + tokenId)));
}
