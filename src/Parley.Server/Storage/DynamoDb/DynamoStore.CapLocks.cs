using System.Diagnostics;
using Amazon.DynamoDBv2.Model;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>Locks on a user's capped collections (push subscriptions, WebSocket tickets):
/// <c>caplock#{collection}#{userId}</c>, holding a random token and an expiry. Counting what the user
/// holds and adding one more happen under it, so requests on every node keep to the cap exactly. A
/// node that dies holding one leaves it to expire; the table's time to live removes it later.</summary>
internal sealed partial class DynamoStore
{
    /// <summary>Longer than a count and a few writes take; how long a dead holder blocks the user's adds.</summary>
    private const long CapLockMs = 5_000;

    /// <summary>How long a caller waits for another request's lock before the store counts as busy (503).</summary>
    private static readonly TimeSpan CapLockWait = TimeSpan.FromSeconds(10);

    private async Task<T> UnderCapLockAsync<T>(string collection, string userId, long now, Func<Task<T>> work)
    {
        var pk = "caplock#" + collection + "#" + userId;
        var key = Item.Record(pk, "-");
        var token = Guid.NewGuid().ToString("N");
        var waited = Stopwatch.StartNew();
        for (var attempt = 1; ; attempt++)
        {
            // The clock moves on while waiting, so a dead holder's lock expires under the caller's eyes.
            var at = now + waited.ElapsedMilliseconds;
            var taken = await db.PutAsync(db.Records, Item.Record(pk, "-").With("holder", token).WithExpiry(at + CapLockMs),
                "attribute_not_exists(#pk) OR #at <= :now", values: new() { [":now"] = Item.N(at) },
                names: new() { ["#pk"] = "pk", ["#at"] = RecordExpiry.AtMs }).ConfigureAwait(false);
            if (taken) break;
            if (waited.Elapsed > CapLockWait) throw new TimeoutException($"Another request held the lock on the user's {collection} too long.");
            await Task.Delay(Math.Min(10 * attempt, 100)).ConfigureAwait(false);
        }
        try
        {
            return await work().ConfigureAwait(false);
        }
        finally
        {
            // Only while it is still this caller's: past its expiry another may hold it.
            await db.DeleteAsync(db.Records, key, "#h = :h", values: new() { [":h"] = Item.S(token) }, names: new() { ["#h"] = "holder" })
                .ConfigureAwait(false);
        }
    }
}
