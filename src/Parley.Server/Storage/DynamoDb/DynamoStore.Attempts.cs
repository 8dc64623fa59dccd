using Amazon.DynamoDBv2.Model;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>Attempts per account (failed sign-ins, codes sent): <c>attempts#{hashed key}</c>
/// (<c>windowStart, attempts</c>), expiring with its window. Each change is one conditional update,
/// so nodes taking attempts at once count them all.</summary>
internal sealed partial class DynamoStore
{
    private static Dictionary<string, AttributeValue> AttemptsKey(string key) => Item.Record("attempts#" + key, "-");

    public async Task<long?> TakeAttemptAsync(string key, long now, long windowMs, int allowed)
    {
        var cut = now - windowMs;
        // An attempt of the running window, while some are left.
        if (await db.UpdateAsync(db.Records, AttemptsKey(key), "SET attempts = attempts + :one", "windowStart > :cut AND attempts < :allowed",
                new() { [":one"] = Item.N(1), [":cut"] = Item.N(cut), [":allowed"] = Item.N(allowed) }).ConfigureAwait(false) is not null)
        {
            return null;
        }
        // A new window, when there is none or the last one has passed.
        if (await db.UpdateAsync(db.Records, AttemptsKey(key), "SET windowStart = :now, attempts = :one, #ms = :ms, #ttl = :ttl",
                "attribute_not_exists(windowStart) OR windowStart <= :cut",
                new()
                {
                    [":now"] = Item.N(now), [":one"] = Item.N(1), [":cut"] = Item.N(cut),
                    [":ms"] = Item.N(now + windowMs), [":ttl"] = RecordExpiry.TtlSeconds(now + windowMs),
                },
                new() { ["#ms"] = RecordExpiry.AtMs, ["#ttl"] = DynamoTables.ExpiresAt }).ConfigureAwait(false) is not null)
        {
            return null;
        }
        var held = await db.GetAsync(db.Records, AttemptsKey(key)).ConfigureAwait(false);
        return (held?.Long("windowStart") ?? now) + windowMs;
    }

    public async Task ReturnAttemptAsync(string key) =>
        await db.UpdateAsync(db.Records, AttemptsKey(key), "SET attempts = attempts - :one", "attempts > :zero",
            new() { [":one"] = Item.N(1), [":zero"] = Item.N(0) }).ConfigureAwait(false);

    public async Task ClearAttemptsAsync(string key) =>
        await db.DeleteAsync(db.Records, AttemptsKey(key)).ConfigureAwait(false);

    public async Task<bool> SpendAttemptsAsync(string key, long now, long windowMs) =>
        await db.UpdateAsync(db.Records, AttemptsKey(key), "SET attempts = :spent", "windowStart > :cut AND attempts < :spent",
            new() { [":spent"] = Item.N(AttemptCounts.Spent), [":cut"] = Item.N(now - windowMs) }).ConfigureAwait(false) is not null;

    /// <summary>The table's time to live removes ended windows.</summary>
    public Task PruneAttemptsAsync(long before) => Task.CompletedTask;
}
