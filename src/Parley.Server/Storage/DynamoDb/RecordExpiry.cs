using Amazon.DynamoDBv2.Model;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>Expiring items of <c>Records</c> keep their expiry in milliseconds (<c>expiresAtMs</c>),
/// which every read checks: DynamoDB deletes expired items up to days late and dynalite never does.
/// They also carry <see cref="DynamoTables.ExpiresAt"/> (seconds) so that AWS removes them.</summary>
internal static class RecordExpiry
{
    public const string AtMs = "expiresAtMs";

    /// <summary>Rounded up, so that an item is never removed before it expires.</summary>
    public static AttributeValue TtlSeconds(long expiresAtMs) => Item.N(expiresAtMs / 1000 + 1);

    public static Dictionary<string, AttributeValue> WithExpiry(this Dictionary<string, AttributeValue> item, long expiresAtMs)
    {
        item[AtMs] = Item.N(expiresAtMs);
        item[DynamoTables.ExpiresAt] = TtlSeconds(expiresAtMs);
        return item;
    }

    public static bool IsLive(this Dictionary<string, AttributeValue> item, long now) => item.Long(AtMs) > now;
}
