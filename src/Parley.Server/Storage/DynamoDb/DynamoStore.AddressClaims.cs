using Amazon.DynamoDBv2.Model;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>An email address or phone number a user item carries, and the <c>Records</c> item
/// (<c>userId</c>, and <c>settled</c> once the user item exists) that makes it that user's alone.</summary>
internal sealed record AddressClaim(string Attribute, string Address)
{
    public Dictionary<string, AttributeValue> Key =>
        Attribute == UserItems.Email ? UserItems.EmailClaim(Address) : UserItems.PhoneClaim(Address);

    public static IEnumerable<AddressClaim> Of(UserRecord user)
    {
        if (user.Email is { } email) yield return new(UserItems.Email, email);
        if (user.PhoneNumber is { } phone) yield return new(UserItems.Phone, phone);
    }

    public UserRecord LeftOff(UserRecord user) => Attribute == UserItems.Email ? user with { Email = null } : user with { PhoneNumber = null };
}

/// <summary>
/// Claims of addresses. A user is created in three steps: its claims, its item, then each claim is
/// marked settled. A claim whose user item is missing was left by a create that failed or is on its
/// way; it may be taken over, but only while unsettled, so a create that finished keeps its
/// addresses, and one overtaken before it settled finds out and gives way. A claim whose user
/// exists without the address (a deleted account) is free.
/// </summary>
internal sealed partial class DynamoStore
{
    /// <summary>True when the address is now <paramref name="userId"/>'s (or already was).</summary>
    private async Task<bool> ClaimAddressAsync(AddressClaim address, string userId)
    {
        var claim = new Dictionary<string, AttributeValue>(address.Key) { ["userId"] = Item.S(userId) };
        // Each round that fails lost to a claim, release or takeover that happened in between.
        for (var round = 0; round < 3; round++)
        {
            if (await db.PutNewAsync(db.Records, claim, "pk").ConfigureAwait(false)) return true;
            var held = await db.GetAsync(db.Records, address.Key).ConfigureAwait(false);
            if (held is null) continue;
            var owner = held.Str("userId");
            if (owner == userId) return true;
            var ownerItem = await db.GetAsync(db.Users, UserItems.Key(owner)).ConfigureAwait(false);
            if (ownerItem is not null && ownerItem.StrOrNull(address.Attribute) == address.Address) return false;
            // A settled claim without its user was given up by a create that lost (it deleted its
            // user item and never writes it again); an unsettled one may still be on its way.
            var onItsWay = ownerItem is null && !held.Bool("settled");
            var names = new Dictionary<string, string> { ["#u"] = "userId" };
            if (onItsWay) names["#settled"] = "settled";
            var condition = onItsWay ? "#u = :old AND attribute_not_exists(#settled)" : "#u = :old";
            if (await db.PutAsync(db.Records, claim, condition, new() { [":old"] = Item.S(owner) }, names).ConfigureAwait(false)) return true;
        }
        return false;
    }

    /// <summary>False when the claim was taken over before its user item was written.</summary>
    private async Task<bool> SettleClaimAsync(AddressClaim address, string userId) =>
        await db.UpdateAsync(db.Records, address.Key, "SET #settled = :true", "#u = :u",
            new() { [":true"] = Item.B(true), [":u"] = Item.S(userId) }, new() { ["#settled"] = "settled", ["#u"] = "userId" })
            .ConfigureAwait(false) is not null;

    private async Task ReleaseClaimsAsync(IEnumerable<AddressClaim> addresses, string userId)
    {
        foreach (var address in addresses)
        {
            await db.DeleteAsync(db.Records, address.Key, "#u = :u", new() { [":u"] = Item.S(userId) }, new() { ["#u"] = "userId" })
                .ConfigureAwait(false);
        }
    }

    /// <summary>The user owning the address, read through its claim (strongly consistent, which the
    /// address indexes of <c>Users</c> are not).</summary>
    private async Task<UserRecord?> FindByAddressAsync(AddressClaim address)
    {
        var claim = await db.GetAsync(db.Records, address.Key).ConfigureAwait(false);
        if (claim is null) return null;
        var user = await db.GetAsync(db.Users, UserItems.Key(claim.Str("userId"))).ConfigureAwait(false);
        return user is not null && user.StrOrNull(address.Attribute) == address.Address ? UserItems.User(user) : null;
    }
}
