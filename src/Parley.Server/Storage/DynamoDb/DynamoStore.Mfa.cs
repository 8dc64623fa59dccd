using Amazon.DynamoDBv2.Model;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>Two-step verification: one item per user, <c>mfa#{userId}</c>, with <c>secret, enabled,
/// lastStep</c> and the unspent recovery code hashes as a string set (<c>recovery</c>). Holding the
/// codes in the same item makes turning verification on one conditional write, and spending a code
/// one conditional removal from the set.</summary>
internal sealed partial class DynamoStore
{
    private static Dictionary<string, AttributeValue> MfaKey(string userId) => Item.Record("mfa#" + userId, "-");

    public async Task<MfaRecord?> GetMfaAsync(string userId) =>
        await db.GetAsync(db.Records, MfaKey(userId)).ConfigureAwait(false) is { } item
            ? new MfaRecord(userId, item.BytesOrNull("secret") ?? [], item.Bool("enabled"), item.Long("lastStep"))
            : null;

    public Task<bool> BeginMfaAsync(string userId, byte[] secret)
    {
        var item = new Dictionary<string, AttributeValue>(MfaKey(userId)) { ["secret"] = Item.Bytes(secret) }
            .With("enabled", false).With("lastStep", 0L);
        return db.PutAsync(db.Records, item, "attribute_not_exists(#pk) OR #enabled = :false",
            new() { [":false"] = Item.B(false) }, new() { ["#pk"] = "pk", ["#enabled"] = "enabled" });
    }

    public async Task<bool> EnableMfaAsync(string userId, IReadOnlyList<string> recoveryCodeHashes, long step)
    {
        var values = new Dictionary<string, AttributeValue> { [":true"] = Item.B(true), [":false"] = Item.B(false), [":step"] = Item.N(step) };
        var names = new Dictionary<string, string> { ["#enabled"] = "enabled", ["#step"] = "lastStep", ["#codes"] = "recovery" };
        // DynamoDB has no empty sets: no codes is no attribute.
        var update = "SET #enabled = :true, #step = :step REMOVE #codes";
        if (recoveryCodeHashes.Count > 0)
        {
            update = "SET #enabled = :true, #step = :step, #codes = :codes";
            values[":codes"] = Item.Strings(recoveryCodeHashes.Distinct(StringComparer.Ordinal));
        }
        return await db.UpdateAsync(db.Records, MfaKey(userId), update, "#enabled = :false AND #step < :step", values, names)
            .ConfigureAwait(false) is not null;
    }

    public async Task<bool> UseMfaStepAsync(string userId, long step) =>
        await db.UpdateAsync(db.Records, MfaKey(userId), "SET #step = :step", "#step < :step",
            new() { [":step"] = Item.N(step) }, new() { ["#step"] = "lastStep" }).ConfigureAwait(false) is not null;

    public async Task<bool> UseRecoveryCodeAsync(string userId, string codeHash, long now) =>
        await db.UpdateAsync(db.Records, MfaKey(userId), "DELETE #codes :code", "contains(#codes, :hash)",
            new() { [":code"] = Item.Strings([codeHash]), [":hash"] = Item.S(codeHash) }, new() { ["#codes"] = "recovery" })
            .ConfigureAwait(false) is not null;

    public Task DisableMfaAsync(string userId) => db.DeleteAsync(db.Records, MfaKey(userId));
}
