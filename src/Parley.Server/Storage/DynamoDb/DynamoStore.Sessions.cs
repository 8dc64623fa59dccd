using System.Globalization;
using Amazon.DynamoDBv2.Model;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>
/// Refresh tokens, sessions and their revocation.
/// <list type="bullet">
/// <item>A token: <c>rt#{hash}</c> with <c>userId, familyId, createdAt, expiresAtMs</c> and, once
/// rotated, <c>usedAt</c>.</item>
/// <item>Its session (family): <c>rtu#{userId}</c>, sk the family id, with <c>revoked</c> once it
/// ends (and <c>replayed</c>, the hash of the token whose second use ended it) and the expiry of its
/// newest token. Revocation is a flag on the family, not on each of its tokens: a session ends with
/// one write however often it rotated, and every check of a token reads its family too.</item>
/// <item>Revocations: the one partition <c>revocations</c>, sk <c>{revokedAt:D20}#{userId}#{session}</c>,
/// so those since a moment are a key condition. Revocations are few (logouts, resets), so one
/// partition takes them.</item>
/// </list>
/// </summary>
internal sealed partial class DynamoStore
{
    private static Dictionary<string, AttributeValue> TokenKey(string hash) => Item.Record("rt#" + hash, "-");

    private static Dictionary<string, AttributeValue> FamilyKey(string userId, string familyId) => Item.Record("rtu#" + userId, familyId);

    private const string Revocations = "revocations";

    public async Task AddRefreshTokenAsync(RefreshTokenRecord token)
    {
        // The family first: a token is only honoured while its family item says the session is on.
        await ExtendFamilyAsync(token, condition: null).ConfigureAwait(false);
        await db.PutAsync(db.Records, TokenItem(token)).ConfigureAwait(false);
    }

    private static Dictionary<string, AttributeValue> TokenItem(RefreshTokenRecord t) =>
        new Dictionary<string, AttributeValue>(TokenKey(t.TokenHash))
            .With("userId", t.UserId).With("familyId", t.FamilyId).With("createdAt", t.CreatedAt).WithExpiry(t.ExpiresAt);

    /// <summary>Makes the family outlive its newest token; null when <paramref name="condition"/> failed.</summary>
    private Task<Dictionary<string, AttributeValue>?> ExtendFamilyAsync(RefreshTokenRecord newest, string? condition)
    {
        var names = new Dictionary<string, string> { ["#ms"] = RecordExpiry.AtMs, ["#ttl"] = DynamoTables.ExpiresAt };
        if (condition is not null)
        {
            names["#pk"] = "pk";
            names["#revoked"] = "revoked";
        }
        return db.UpdateAsync(db.Records, FamilyKey(newest.UserId, newest.FamilyId), "SET #ms = :ms, #ttl = :ttl", condition,
            new() { [":ms"] = Item.N(newest.ExpiresAt), [":ttl"] = RecordExpiry.TtlSeconds(newest.ExpiresAt) }, names);
    }

    /// <summary>The token and whether its session is still on (its family exists and is not revoked).</summary>
    private async Task<(Dictionary<string, AttributeValue>? Token, bool SessionOn)> ReadTokenAsync(string hash)
    {
        var token = await db.GetAsync(db.Records, TokenKey(hash)).ConfigureAwait(false);
        if (token is null) return (null, false);
        var family = await db.GetAsync(db.Records, FamilyKey(token.Str("userId"), token.Str("familyId"))).ConfigureAwait(false);
        return (token, family is not null && !family.Bool("revoked"));
    }

    public async Task<RefreshRotation> RotateRefreshTokenAsync(string presentedHash, Func<string, string, RefreshTokenRecord> replacement, long now)
    {
        var (token, sessionOn) = await ReadTokenAsync(presentedHash).ConfigureAwait(false);
        if (token is null || !sessionOn || !token.IsLive(now)) return new RefreshRotation(RefreshOutcome.Invalid, null);
        var userId = token.Str("userId");
        var familyId = token.Str("familyId");
        // Retiring the token is the one conditional write two rotations of the same token race
        // for: the loser, like a later replay, finds it used and ends the session.
        var retired = !token.ContainsKey("usedAt") && await db.UpdateAsync(db.Records, TokenKey(presentedHash), "SET #used = :now",
            "attribute_not_exists(#used)", new() { [":now"] = Item.N(now) }, new() { ["#used"] = "usedAt" }).ConfigureAwait(false) is not null;
        if (!retired)
        {
            await RevokeReplayedFamilyAsync(userId, familyId, presentedHash).ConfigureAwait(false);
            return new RefreshRotation(RefreshOutcome.Reused, userId, familyId);
        }
        var next = replacement(userId, familyId);
        if (await ExtendFamilyAsync(next, "attribute_exists(#pk) AND attribute_not_exists(#revoked)").ConfigureAwait(false) is not null)
        {
            await db.PutAsync(db.Records, TokenItem(next)).ConfigureAwait(false);
            return new RefreshRotation(RefreshOutcome.Rotated, userId, familyId);
        }
        // The session ended since the read. If a replay of this very token ended it, that replay
        // came after this rotation retired the token: this rotation went through first (and its
        // token died with the session), as it does on the SQL stores. Any other ending may have
        // come first, so the rotation is refused.
        var family = await db.GetAsync(db.Records, FamilyKey(userId, familyId)).ConfigureAwait(false);
        return family?.StrOrNull("replayed") == presentedHash
            ? new RefreshRotation(RefreshOutcome.Rotated, userId, familyId)
            : new RefreshRotation(RefreshOutcome.Invalid, null);
    }

    /// <summary>Ends a session because <paramref name="tokenHash"/> was used twice, naming that token
    /// unless the session had already ended for another reason.</summary>
    private Task RevokeReplayedFamilyAsync(string userId, string familyId, string tokenHash) =>
        db.UpdateAsync(db.Records, FamilyKey(userId, familyId), "SET #revoked = :true, #replayed = :hash",
            "attribute_exists(#pk) AND attribute_not_exists(#revoked)",
            new() { [":true"] = Item.B(true), [":hash"] = Item.S(tokenHash) },
            new() { ["#revoked"] = "revoked", ["#replayed"] = "replayed", ["#pk"] = "pk" });

    public async Task<string?> FindLiveRefreshTokenAsync(string presentedHash, long now)
    {
        var (token, sessionOn) = await ReadTokenAsync(presentedHash).ConfigureAwait(false);
        return token is not null && sessionOn && token.IsLive(now) && !token.ContainsKey("usedAt") ? token.Str("userId") : null;
    }

    public async Task RevokeRefreshFamilyAsync(string presentedHash)
    {
        if (await db.GetAsync(db.Records, TokenKey(presentedHash)).ConfigureAwait(false) is { } token)
        {
            await RevokeFamilyAsync(token.Str("userId"), token.Str("familyId")).ConfigureAwait(false);
        }
    }

    private Task RevokeFamilyAsync(string userId, string familyId) =>
        db.UpdateAsync(db.Records, FamilyKey(userId, familyId), "SET #revoked = :true", "attribute_exists(#pk)",
            new() { [":true"] = Item.B(true) }, new() { ["#revoked"] = "revoked", ["#pk"] = "pk" });

    public async Task RevokeAllSessionsAsync(string userId, long now)
    {
        // Refresh first: ending the long-lived credentials matters most if this stops half way.
        foreach (var family in await QueryRecordsAsync("rtu#" + userId).ConfigureAwait(false))
        {
            if (!family.Bool("revoked")) await RevokeFamilyAsync(userId, family.Str("sk")).ConfigureAwait(false);
        }
        await AddRevocationAsync(userId, null, now).ConfigureAwait(false);
    }

    public async Task RevokeSessionAsync(string userId, string sessionId, long now)
    {
        await RevokeFamilyAsync(userId, sessionId).ConfigureAwait(false);
        await AddRevocationAsync(userId, sessionId, now).ConfigureAwait(false);
    }

    public async Task<(string UserId, string SessionId)?> FindRefreshSessionAsync(string presentedHash) =>
        await db.GetAsync(db.Records, TokenKey(presentedHash)).ConfigureAwait(false) is { } token
            ? (token.Str("userId"), token.Str("familyId"))
            : null;

    private static string RevocationMoment(long at) => Math.Max(0, at).ToString("D20", CultureInfo.InvariantCulture);

    private Task AddRevocationAsync(string userId, string? sessionId, long now) => db.PutAsync(db.Records,
        Item.Record(Revocations, $"{RevocationMoment(now)}#{userId}#{sessionId}")
            .With("userId", userId).With("sessionId", sessionId).With("revokedAt", now));

    public async Task<IReadOnlyList<SessionRevocation>> GetRevocationsAsync(long since) =>
        (await QueryRecordsAsync(Revocations, "#sk >= :since", new() { [":since"] = Item.S(RevocationMoment(since)) }).ConfigureAwait(false))
            .Select(i => new SessionRevocation(i.Str("userId"), i.StrOrNull("sessionId"), i.Long("revokedAt")))
            .ToList();

    public async Task PruneRevocationsAsync(long before)
    {
        foreach (var old in await QueryRecordsAsync(Revocations, "#sk < :before", new() { [":before"] = Item.S(RevocationMoment(before)) }).ConfigureAwait(false))
        {
            await db.DeleteAsync(db.Records, Item.Record(Revocations, old.Str("sk"))).ConfigureAwait(false);
        }
    }
}
