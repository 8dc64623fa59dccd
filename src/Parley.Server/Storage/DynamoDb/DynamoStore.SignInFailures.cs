using Amazon.DynamoDBv2.Model;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>Failed sign-ins: <c>signin#{hashed key}</c> (<c>windowStart, failures</c>), expiring with
/// its window. Each change is one conditional update, so nodes taking failures at once count them all.</summary>
internal sealed partial class DynamoStore
{
    private static Dictionary<string, AttributeValue> SignInFailuresKey(string key) => Item.Record("signin#" + key, "-");

    public async Task<long?> TakeSignInFailureAsync(string key, long now, long windowMs, int allowed)
    {
        var cut = now - windowMs;
        // A failure of the running window, while some are left.
        if (await db.UpdateAsync(db.Records, SignInFailuresKey(key), "SET failures = failures + :one", "windowStart > :cut AND failures < :allowed",
                new() { [":one"] = Item.N(1), [":cut"] = Item.N(cut), [":allowed"] = Item.N(allowed) }).ConfigureAwait(false) is not null)
        {
            return null;
        }
        // A new window, when there is none or the last one has passed.
        if (await db.UpdateAsync(db.Records, SignInFailuresKey(key), "SET windowStart = :now, failures = :one, #ms = :ms, #ttl = :ttl",
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
        var held = await db.GetAsync(db.Records, SignInFailuresKey(key)).ConfigureAwait(false);
        return (held?.Long("windowStart") ?? now) + windowMs;
    }

    public async Task ReturnSignInFailureAsync(string key) =>
        await db.UpdateAsync(db.Records, SignInFailuresKey(key), "SET failures = failures - :one", "failures > :zero",
            new() { [":one"] = Item.N(1), [":zero"] = Item.N(0) }).ConfigureAwait(false);

    public async Task ClearSignInFailuresAsync(string key) =>
        await db.DeleteAsync(db.Records, SignInFailuresKey(key)).ConfigureAwait(false);

    /// <summary>The table's time to live removes ended windows.</summary>
    public Task PruneSignInFailuresAsync(long before) => Task.CompletedTask;
}
