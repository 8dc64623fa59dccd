using Amazon.DynamoDBv2.Model;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>Web Push: a user's subscriptions under <c>push#{userId}</c>, sk the endpoint
/// (<c>p256dh, auth, createdAt</c>), and <c>pushep#{endpoint}</c> naming the user who holds it,
/// so a subscription the push service reports gone is found by its endpoint alone. An endpoint
/// item is written before its subscription and removed after it, so every subscription has one.
/// Server secrets: <c>secret#{name}</c>.</summary>
internal sealed partial class DynamoStore
{
    private static Dictionary<string, AttributeValue> SubscriptionKey(string userId, string endpoint) => Item.Record("push#" + userId, endpoint);

    private static Dictionary<string, AttributeValue> EndpointKey(string endpoint) => Item.Record("pushep#" + endpoint, "-");

    public Task<bool> AddPushSubscriptionAsync(PushSubscriptionRecord s, int maxPerUser) =>
        UnderCapLockAsync("push", s.UserId, s.CreatedAt, () => AddPushSubscriptionLockedAsync(s, maxPerUser));

    private async Task<bool> AddPushSubscriptionLockedAsync(PushSubscriptionRecord s, int maxPerUser)
    {
        var held = await QueryRecordsAsync("push#" + s.UserId).ConfigureAwait(false);
        if (held.Count(i => i.Str("sk") != s.Endpoint) >= maxPerUser) return false;
        // An endpoint moving to this user (one browser, another account) leaves its old holder
        // first, so a failure half way never sends one account's notifications to the other's browser.
        if (await db.GetAsync(db.Records, EndpointKey(s.Endpoint)).ConfigureAwait(false) is { } previous && previous.Str("userId") != s.UserId)
        {
            await db.DeleteAsync(db.Records, SubscriptionKey(previous.Str("userId"), s.Endpoint)).ConfigureAwait(false);
        }
        await db.PutAsync(db.Records, EndpointKey(s.Endpoint).With("userId", s.UserId)).ConfigureAwait(false);
        await db.PutAsync(db.Records, SubscriptionKey(s.UserId, s.Endpoint)
            .With("p256dh", s.P256dh).With("auth", s.Auth).With("createdAt", s.CreatedAt)).ConfigureAwait(false);
        return true;
    }

    public Task<bool> RemovePushSubscriptionAsync(string userId, string endpoint) =>
        RemoveSubscriptionAsync(userId, endpoint, "attribute_exists(#pk)", null, new() { ["#pk"] = "pk" });

    public Task DeletePushSubscriptionAsync(PushSubscriptionRecord s) =>
        RemoveSubscriptionAsync(s.UserId, s.Endpoint, "#a = :a", new() { [":a"] = Item.S(s.Auth) }, new() { ["#a"] = "auth" });

    /// <summary>Deletes the user's subscription of the endpoint if <paramref name="condition"/> holds,
    /// then its endpoint item; false when the condition did not hold (or there was none).</summary>
    private async Task<bool> RemoveSubscriptionAsync(string userId, string endpoint, string condition,
        Dictionary<string, AttributeValue>? values, Dictionary<string, string> names)
    {
        if (await db.DeleteAsync(db.Records, SubscriptionKey(userId, endpoint), condition, values, names).ConfigureAwait(false) is null) return false;
        await ForgetEndpointAsync(endpoint, userId).ConfigureAwait(false);
        return true;
    }

    /// <summary>Only while it still names this user: the endpoint may have moved on meanwhile.</summary>
    private Task ForgetEndpointAsync(string endpoint, string userId) =>
        db.DeleteAsync(db.Records, EndpointKey(endpoint), "#u = :u", new() { [":u"] = Item.S(userId) }, new() { ["#u"] = "userId" });

    public async Task<IReadOnlyList<PushSubscriptionRecord>> GetPushSubscriptionsAsync(IReadOnlyCollection<string> userIds)
    {
        // A query per user, a few at a time: a large group's push fan-out should not open a connection per member.
        var subscriptions = new List<PushSubscriptionRecord>();
        foreach (var chunk in userIds.Distinct(StringComparer.Ordinal).Chunk(16))
        {
            var perUser = await Task.WhenAll(chunk.Select(async userId =>
                (await QueryRecordsAsync("push#" + userId).ConfigureAwait(false))
                    .Select(i => new PushSubscriptionRecord(i.Str("sk"), userId, i.Str("p256dh"), i.Str("auth"), i.Long("createdAt")))))
                .ConfigureAwait(false);
            subscriptions.AddRange(perUser.SelectMany(s => s));
        }
        return subscriptions;
    }

    public async Task<string> GetOrAddServerSecretAsync(string name, string candidate, long now)
    {
        var key = Item.Record("secret#" + name, "-");
        if (await db.PutNewAsync(db.Records, new Dictionary<string, AttributeValue>(key).With("value", candidate).With("createdAt", now), "pk")
                .ConfigureAwait(false))
        {
            return candidate;
        }
        return (await db.GetAsync(db.Records, key).ConfigureAwait(false))?.Str("value")
            ?? throw new InvalidOperationException($"The server secret {name} vanished after it was found to exist.");
    }

    public async Task ForgetServerKeysAsync(IReadOnlyCollection<string> secretNames)
    {
        foreach (var name in secretNames) await db.DeleteAsync(db.Records, Item.Record("secret#" + name, "-")).ConfigureAwait(false);
        await db.DeleteAsync(db.Records, SigningKeyItemKey).ConfigureAwait(false);
    }
}
