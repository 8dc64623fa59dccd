using Amazon.DynamoDBv2.Model;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>The stored secrets the <c>secrets seal</c> command walks: the signing key item, the
/// <c>secret#</c> items, <c>mfa#</c> items and <c>push#</c> subscription items, all in the records
/// table, found by one filtered scan (the command runs rarely, beside the server).</summary>
internal sealed partial class DynamoStore
{
    /// <summary>Where each kind keeps its value, and the prefix of its items' partition key.</summary>
    private static (string Prefix, string Attribute) SecretPlace(StoredSecretKind kind) => kind switch
    {
        StoredSecretKind.SigningKey => ("signing-key", "privateKey"),
        StoredSecretKind.ServerSecret => ("secret#", "value"),
        StoredSecretKind.TotpSecret => ("mfa#", "secret"),
        StoredSecretKind.PushAuth => ("push#", "auth"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private static readonly StoredSecretKind[] SecretKinds = Enum.GetValues<StoredSecretKind>();

    public async IAsyncEnumerable<StoredSecret> ReadStoredSecretsAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var values = new Dictionary<string, AttributeValue>();
        var filter = new List<string>();
        foreach (var kind in SecretKinds)
        {
            values[$":k{(int)kind}"] = Item.S(SecretPlace(kind).Prefix);
            filter.Add($"begins_with(pk, :k{(int)kind})");
        }
        var items = await db.ScanAsync(new ScanRequest
        {
            TableName = db.Records,
            FilterExpression = string.Join(" OR ", filter),
            ExpressionAttributeValues = values,
        }).ConfigureAwait(false);
        foreach (var item in items)
        {
            ct.ThrowIfCancellationRequested();
            if (SecretOf(item) is { } secret) yield return secret;
        }
    }

    private static StoredSecret? SecretOf(Dictionary<string, AttributeValue> item)
    {
        var pk = item.Str("pk");
        foreach (var kind in SecretKinds)
        {
            var (prefix, attribute) = SecretPlace(kind);
            if (!pk.StartsWith(prefix, StringComparison.Ordinal)) continue;
            var name = pk[prefix.Length..];
            return kind switch
            {
                StoredSecretKind.SigningKey => StoredSecret.Text(kind, item.Str("kid"), null, item.Str(attribute)),
                StoredSecretKind.TotpSecret => item.BytesOrNull(attribute) is { } bytes ? new StoredSecret(kind, name, null, bytes) : null,
                StoredSecretKind.PushAuth => StoredSecret.Text(kind, item.Str("sk"), name, item.Str(attribute)),
                _ => StoredSecret.Text(kind, name, null, item.Str(attribute)),
            };
        }
        return null;
    }

    public async Task<bool> ReplaceStoredSecretAsync(StoredSecret stored, byte[] replacement)
    {
        var (prefix, attribute) = SecretPlace(stored.Kind);
        var key = stored.Kind switch
        {
            StoredSecretKind.SigningKey => Item.Record(prefix, "-"),
            StoredSecretKind.PushAuth => Item.Record(prefix + stored.Owner, stored.Name),
            _ => Item.Record(prefix + stored.Name, "-"),
        };
        var values = stored.Kind == StoredSecretKind.TotpSecret
            ? new Dictionary<string, AttributeValue> { [":old"] = Item.Bytes(stored.Value), [":new"] = Item.Bytes(replacement) }
            : new Dictionary<string, AttributeValue>
            {
                [":old"] = Item.S((string)stored.Column(stored.Value)), [":new"] = Item.S((string)stored.Column(replacement)),
            };
        // A signing key is replaced only while it is the key read (its id), as the SQL stores' WHERE kid does.
        var condition = "#v = :old";
        var names = new Dictionary<string, string> { ["#v"] = attribute };
        if (stored.Kind == StoredSecretKind.SigningKey)
        {
            condition += " AND #kid = :kid";
            values[":kid"] = Item.S(stored.Name);
            names["#kid"] = "kid";
        }
        return await db.UpdateAsync(db.Records, key, "SET #v = :new", condition, values, names).ConfigureAwait(false) is not null;
    }
}
