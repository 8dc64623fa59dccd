using Amazon.DynamoDBv2.Model;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>
/// An issuer's subject maps to its user through <c>ext#{issuer}#{subject}</c> (<c>userId</c>). The
/// mapping is claimed first, carrying the user to create (<c>pending</c>, the user item as a map),
/// so concurrent sign-ins of one subject agree on one user whatever node they run on, and whoever
/// finds the mapping with its user not written yet (another request on its way, or one that
/// failed) writes that same user from it. Once the user exists, <c>pending</c> goes: a mapping
/// outlives its account and must not keep a copy of the profile.
/// </summary>
internal sealed partial class DynamoStore
{
    private const string PendingUser = "pending";

    private static Dictionary<string, AttributeValue> ExternalKey(string issuer, string subject) => Item.Record($"ext#{issuer}#{subject}", "-");

    public async Task<ExternalIdentityRecord?> FindExternalIdentityAsync(string issuer, string subject)
    {
        var mapping = await db.GetAsync(db.Records, ExternalKey(issuer, subject)).ConfigureAwait(false);
        if (mapping is null) return null;
        var user = await db.GetAsync(db.Users, UserItems.Key(mapping.Str("userId"))).ConfigureAwait(false);
        if (mapping.ContainsKey(PendingUser))
        {
            // Not written yet: AddExternalUserAsync finishes it.
            if (user is null) return null;
            // Written by a request that stopped before it cleared the copy.
            await ForgetPendingUserAsync(ExternalKey(issuer, subject), mapping.Str("userId")).ConfigureAwait(false);
        }
        return new ExternalIdentityRecord(mapping.Str("userId"), user is null || UserItems.IsDeleted(user));
    }

    public async Task<ExternalIdentityRecord> AddExternalUserAsync(string issuer, string subject, UserRecord user)
    {
        var key = ExternalKey(issuer, subject);
        var mapping = new Dictionary<string, AttributeValue>(key)
        {
            ["userId"] = Item.S(user.Id),
            ["createdAt"] = Item.N(user.CreatedAt),
            [PendingUser] = new() { M = UserItems.UserItem(user) },
        };
        if (!await db.PutNewAsync(db.Records, mapping, "pk").ConfigureAwait(false))
        {
            // Mappings are never deleted, so the one that won is there.
            mapping = await db.GetAsync(db.Records, key).ConfigureAwait(false)
                ?? throw new InvalidOperationException("An external identity mapping vanished after it was found to exist.");
        }
        return await FinishExternalUserAsync(key, mapping).ConfigureAwait(false);
    }

    private async Task<ExternalIdentityRecord> FinishExternalUserAsync(Dictionary<string, AttributeValue> key, Dictionary<string, AttributeValue> mapping)
    {
        var userId = mapping.Str("userId");
        var userKey = UserItems.Key(userId);
        var stored = await db.GetAsync(db.Users, userKey).ConfigureAwait(false);
        if (!mapping.TryGetValue(PendingUser, out var pending) || pending.M is not { } pendingItem)
        {
            return new ExternalIdentityRecord(userId, stored is null || UserItems.IsDeleted(stored));
        }
        if (stored is null)
        {
            // An address another account owns is left off: an external sign-in never takes one over.
            var candidate = UserItems.User(pendingItem);
            foreach (var address in AddressClaim.Of(candidate))
            {
                if (!await ClaimAddressAsync(address, userId).ConfigureAwait(false)) candidate = address.LeftOff(candidate);
            }
            // Whoever else finishes the same mapping writes the same user; the first write stands.
            await db.PutNewAsync(db.Users, UserItems.UserItem(candidate), "userId").ConfigureAwait(false);
            stored = await db.GetAsync(db.Users, userKey).ConfigureAwait(false)
                ?? throw new InvalidOperationException("A user vanished right after it was written.");
            foreach (var address in AddressClaim.Of(UserItems.User(stored)))
            {
                if (await SettleClaimAsync(address, userId).ConfigureAwait(false)) continue;
                // Taken over before this user existed: the address is the other account's.
                await db.UpdateAsync(db.Users, userKey, "REMOVE #a", "#a = :v",
                    new() { [":v"] = Item.S(address.Address) }, new() { ["#a"] = address.Attribute }).ConfigureAwait(false);
            }
        }
        await ForgetPendingUserAsync(key, userId).ConfigureAwait(false);
        return new ExternalIdentityRecord(userId, UserItems.IsDeleted(stored));
    }

    private Task ForgetPendingUserAsync(Dictionary<string, AttributeValue> key, string userId) =>
        db.UpdateAsync(db.Records, key, "REMOVE #p", "#u = :u", new() { [":u"] = Item.S(userId) }, new() { ["#p"] = PendingUser, ["#u"] = "userId" });
}
