using System.Security.Cryptography;
using System.Text;
using Amazon.DynamoDBv2.Model;

namespace Parley.Server.Storage.DynamoDb;

internal sealed partial class DynamoStore
{
    private static readonly Dictionary<string, AttributeValue> SigningKeyItemKey = Item.Record("signing-key", "-");

    public async Task<SigningKeyRecord> GetOrAddSigningKeyAsync(SigningKeyRecord candidate)
    {
        var item = new Dictionary<string, AttributeValue>(SigningKeyItemKey)
            .With("kid", candidate.KeyId).With("privateKey", candidate.PrivateKeyPkcs8).With("createdAt", candidate.CreatedAt);
        if (await db.PutNewAsync(db.Records, item, "pk").ConfigureAwait(false)) return candidate;
        var stored = await db.GetAsync(db.Records, SigningKeyItemKey).ConfigureAwait(false)
            ?? throw new InvalidOperationException("The signing key record vanished after it was found to exist.");
        return new SigningKeyRecord(stored.Str("kid"), stored.Str("privateKey"), stored.Long("createdAt"));
    }

    public async Task<bool> CreateUserAsync(UserRecord user)
    {
        var claimed = new List<AddressClaim>();
        foreach (var address in AddressClaim.Of(user))
        {
            if (!await ClaimAddressAsync(address, user.Id).ConfigureAwait(false))
            {
                await ReleaseClaimsAsync(claimed, user.Id).ConfigureAwait(false);
                return false;
            }
            claimed.Add(address);
        }
        if (!await db.PutNewAsync(db.Users, UserItems.UserItem(user), "userId").ConfigureAwait(false))
        {
            await ReleaseClaimsAsync(claimed, user.Id).ConfigureAwait(false);
            return false;
        }
        foreach (var address in claimed)
        {
            if (await SettleClaimAsync(address, user.Id).ConfigureAwait(false)) continue;
            // Another registration took the address over before this user item existed: it owns
            // the address, so this account gives way (its item first, so its claims free up).
            await db.DeleteAsync(db.Users, UserItems.Key(user.Id)).ConfigureAwait(false);
            await ReleaseClaimsAsync(claimed, user.Id).ConfigureAwait(false);
            return false;
        }
        return true;
    }

    public async Task<UserRecord?> GetUserAsync(string userId) =>
        await db.GetAsync(db.Users, UserItems.Key(userId)).ConfigureAwait(false) is { } item ? UserItems.User(item) : null;

    public async Task<IReadOnlyList<UserRecord>> GetUsersAsync(IReadOnlyCollection<string> userIds)
    {
        var items = await db.GetManyAsync(db.Users, userIds.Distinct(StringComparer.Ordinal).Select(UserItems.Key)).ConfigureAwait(false);
        var byId = items.Select(UserItems.User).ToDictionary(u => u.Id, StringComparer.Ordinal);
        return userIds.Select(id => byId.GetValueOrDefault(id)).OfType<UserRecord>().ToList();
    }

    public Task<UserRecord?> FindUserByEmailAsync(string email) => FindByAddressAsync(new AddressClaim(UserItems.Email, email));

    public Task<UserRecord?> FindUserByPhoneAsync(string phoneNumber) => FindByAddressAsync(new AddressClaim(UserItems.Phone, phoneNumber));

    public async Task<IReadOnlyList<UserRecord>> SearchUsersAsync(string excludeUserId, string? search, string? afterName, string? afterId, int limit)
    {
        // A scan reads every user: fine for the deployments this backend serves (thousands of
        // accounts); a larger directory would need a search index of its own.
        var names = new Dictionary<string, string> { ["#id"] = "userId", ["#deleted"] = "deletedAt" };
        var values = new Dictionary<string, AttributeValue> { [":me"] = Item.S(excludeUserId) };
        var filter = "#id <> :me AND attribute_not_exists(#deleted)";
        if (!string.IsNullOrEmpty(search))
        {
            // Emails are stored lower case, as search names are.
            filter += " AND (contains(#search, :q) OR contains(#email, :q))";
            names["#search"] = "searchName";
            names["#email"] = UserItems.Email;
            values[":q"] = Item.S(search.ToLowerInvariant());
        }
        var items = await db.ScanAsync(new ScanRequest
        {
            TableName = db.Users,
            FilterExpression = filter,
            ExpressionAttributeNames = names,
            ExpressionAttributeValues = values,
        }).ConfigureAwait(false);
        return PageByName(items, afterName, afterId, limit);
    }

    /// <summary>Users ordered by (search name, id), after the given key: what the SQL stores' ORDER BY and row comparison do.</summary>
    private static List<UserRecord> PageByName(IEnumerable<Dictionary<string, AttributeValue>> items, string? afterName, string? afterId, int limit)
    {
        var afterKey = afterName is null ? null : UserItems.SearchKey(afterName);
        return items
            .Select(i => (Name: i.StrOrNull("searchName") ?? "", User: UserItems.User(i)))
            .Where(x => afterKey is null || IsAfter(x.Name, x.User.Id, afterKey, afterId ?? ""))
            .OrderBy(x => x.Name, StringComparer.Ordinal).ThenBy(x => x.User.Id, StringComparer.Ordinal)
            .Take(limit).Select(x => x.User).ToList();
    }

    private static bool IsAfter(string name, string id, string afterName, string afterId)
    {
        var byName = string.CompareOrdinal(name, afterName);
        return byName > 0 || byName == 0 && string.CompareOrdinal(id, afterId) > 0;
    }

    public async Task<UserRecord?> UpdateProfileAsync(string userId, string? name, string? about, string? avatar)
    {
        var sets = new List<string>();
        var names = new Dictionary<string, string> { ["#id"] = "userId" };
        var values = new Dictionary<string, AttributeValue>();
        void Set(string attribute, string? value)
        {
            if (value is null) return;
            sets.Add($"#{attribute} = :{attribute}");
            names["#" + attribute] = attribute;
            values[":" + attribute] = Item.S(value);
        }
        Set("name", name);
        Set("searchName", name is null ? null : UserItems.SearchKey(name));
        Set("about", about);
        Set("avatar", avatar);
        if (sets.Count == 0) return await GetUserAsync(userId).ConfigureAwait(false);
        var updated = await db.UpdateAsync(db.Users, UserItems.Key(userId), "SET " + string.Join(", ", sets), "attribute_exists(#id)",
            values, names, returnNew: true).ConfigureAwait(false);
        return updated is null ? null : UserItems.User(updated);
    }

    // Every update of a user is conditioned on its item existing: an update would otherwise create
    // a user of one attribute.
    private Task<Dictionary<string, AttributeValue>?> UpdateUserAsync(string userId, string attribute, AttributeValue value, string? extraCondition = null) =>
        db.UpdateAsync(db.Users, UserItems.Key(userId), "SET #a = :v",
            extraCondition is null ? "attribute_exists(#id)" : "attribute_exists(#id) AND " + extraCondition,
            new() { [":v"] = value }, new() { ["#id"] = "userId", ["#a"] = attribute });

    public Task SetPasswordAsync(string userId, string passwordHash) => UpdateUserAsync(userId, "passwordHash", Item.S(passwordHash));

    public Task ConfirmUserAsync(string userId) => UpdateUserAsync(userId, "confirmed", Item.B(true));

    public Task SetLastSeenAsync(string userId, long lastSeen) =>
        UpdateUserAsync(userId, "lastSeen", Item.N(lastSeen), "(attribute_not_exists(#a) OR #a < :v)");

    private static Dictionary<string, AttributeValue> BlockKey(string userId, string blockedId) => Item.Record("blocks#" + userId, blockedId);

    private static Dictionary<string, AttributeValue> BlockedByKey(string blockedId, string userId) => Item.Record("blockedby#" + blockedId, userId);

    public async Task SetBlockedAsync(string userId, string blockedId, bool blocked, long now)
    {
        // The mirror is written before the block and removed after it, so every block has its
        // mirror: a failure half way leaves the blocked side hiding too much, never too little.
        if (blocked)
        {
            await db.PutNewAsync(db.Records, BlockedByKey(blockedId, userId).With("createdAt", now), "pk").ConfigureAwait(false);
            await db.PutNewAsync(db.Records, BlockKey(userId, blockedId).With("createdAt", now), "pk").ConfigureAwait(false);
        }
        else
        {
            await db.DeleteAsync(db.Records, BlockKey(userId, blockedId)).ConfigureAwait(false);
            await db.DeleteAsync(db.Records, BlockedByKey(blockedId, userId)).ConfigureAwait(false);
        }
    }

    public async Task<BlockList> GetBlocksAsync(string userId)
    {
        var blocked = await QueryRecordsAsync("blocks#" + userId).ConfigureAwait(false);
        var blockedBy = await QueryRecordsAsync("blockedby#" + userId).ConfigureAwait(false);
        if (blocked.Count == 0 && blockedBy.Count == 0) return BlockList.Empty;
        return new BlockList(
            blocked.Select(i => i.Str("sk")).ToHashSet(StringComparer.Ordinal),
            blockedBy.Select(i => i.Str("sk")).ToHashSet(StringComparer.Ordinal));
    }

    public async Task<bool> IsBlockedAsync(string userId, string blockedId) =>
        await db.GetAsync(db.Records, BlockKey(userId, blockedId)).ConfigureAwait(false) is not null;

    private static Dictionary<string, AttributeValue> CodeKey(string userId, string purpose) => Item.Record("code#" + userId, purpose);

    public Task SaveCodeAsync(string userId, string purpose, string codeHash, long expiresAt) =>
        db.PutAsync(db.Records, CodeKey(userId, purpose).With("codeHash", codeHash).With("attempts", 0L).WithExpiry(expiresAt));

    public async Task<CodeCheck> CheckCodeAsync(string userId, string purpose, string codeHash, long now, int maxAttempts)
    {
        var key = CodeKey(userId, purpose);
        var names = new Dictionary<string, string> { ["#h"] = "codeHash", ["#a"] = "attempts" };
        // Each write is conditioned on the code read and its attempts being under the limit; when
        // a concurrent check or a new code got there first, the check starts over from what is stored.
        while (true)
        {
            var code = await db.GetAsync(db.Records, key).ConfigureAwait(false);
            if (code is null || !code.IsLive(now)) return CodeCheck.ExpiredOrMissing;
            if (code.Long("attempts") >= maxAttempts) return CodeCheck.TooManyAttempts;
            var stored = code.Str("codeHash");
            var values = new Dictionary<string, AttributeValue> { [":h"] = Item.S(stored), [":max"] = Item.N(maxAttempts) };
            if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(stored), Encoding.ASCII.GetBytes(codeHash)))
            {
                values[":one"] = Item.N(1);
                if (await db.UpdateAsync(db.Records, key, "SET #a = #a + :one", "#h = :h AND #a < :max", values, names).ConfigureAwait(false) is not null)
                {
                    return CodeCheck.Wrong;
                }
            }
            else if (await db.DeleteAsync(db.Records, key, "#h = :h AND #a < :max", values, names).ConfigureAwait(false) is not null)
            {
                return CodeCheck.Accepted;
            }
        }
    }
}
