using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>A table's key attributes: a hash key and an optional range key.</summary>
public sealed record KeySpec(string Hash, string? Range = null, ScalarAttributeType? RangeType = null);

/// <summary>A global secondary index. Keys only: an index an item is in costs a write unit whenever
/// the item's key attributes change, and one that holds every attribute whenever any changes.</summary>
public sealed record IndexSpec(string Name, KeySpec Key);

/// <summary>One table: its name after the prefix, key, indexes and time-to-live attribute.</summary>
public sealed record TableSpec(string Name, KeySpec Key, IndexSpec[] Indexes, string? TimeToLive = null);

/// <summary>
/// Parley's DynamoDB tables, in one place: <c>tables create</c>, <c>CreateTables=true</c> and the
/// CloudFormation template's tables (checked by a test) all follow this list.
/// <list type="bullet">
/// <item><c>Users</c> by <c>userId</c>, with the serverless backends' <c>EmailIndex</c> and a
/// <c>PhoneIndex</c>. Those indexes are eventually consistent, so an address is claimed (and found)
/// through its own item in <c>Records</c>; the indexes serve tools that query them.</item>
/// <item><c>Chats</c> by <c>chatId</c>: a chat, its last message seq, last position and activity.</item>
/// <item><c>ChatMembers</c> by <c>chatId</c> and <c>userId</c>: one membership, with its delivered and
/// read watermarks (which replace the serverless backends' per-recipient MessageStatus table), and
/// <c>UserChatsIndex</c> on <c>userId</c> for a user's chats. The chat list is ordered by the chats'
/// own activity when it is read, so no membership item is rewritten per message.</item>
/// <item><c>Messages</c> by <c>chatId</c> and <c>pos</c>: a chat's events (messages, edits,
/// receipts, changes) in the chat's order; a message also has its <c>seq</c>.</item>
/// <item><c>Records</c> by <c>pk</c> and <c>sk</c>: everything small and keyed (claimed addresses,
/// refresh tokens, codes, tickets, media, blocks, idempotency keys...), with a TTL for what expires.</item>
/// </list>
/// </summary>
public static class DynamoTables
{
    public const string Users = "Users";
    public const string Chats = "Chats";
    public const string ChatMembers = "ChatMembers";
    public const string Messages = "Messages";
    public const string Records = "Records";

    public const string EmailIndex = "EmailIndex";
    public const string PhoneIndex = "PhoneIndex";
    public const string UserChatsIndex = "UserChatsIndex";

    /// <summary>The attribute DynamoDB's TTL reads (seconds since 1970) on the tables that expire items.</summary>
    public const string ExpiresAt = "expiresAt";

    public static readonly IReadOnlyList<TableSpec> All =
    [
        new(Users, new KeySpec("userId"), [new(EmailIndex, new KeySpec("email")), new(PhoneIndex, new KeySpec("phoneNumber"))]),
        new(Chats, new KeySpec("chatId"), []),
        new(ChatMembers, new KeySpec("chatId", "userId", ScalarAttributeType.S), [new(UserChatsIndex, new KeySpec("userId", "chatId", ScalarAttributeType.S))]),
        new(Messages, new KeySpec("chatId", "pos", ScalarAttributeType.N), []),
        new(Records, new KeySpec("pk", "sk", ScalarAttributeType.S), [], ExpiresAt),
    ];

    /// <summary>The request that creates <paramref name="table"/> under <paramref name="prefix"/>: on
    /// demand, every key attribute a string unless said otherwise.</summary>
    public static CreateTableRequest CreateRequest(TableSpec table, string prefix)
    {
        var types = new Dictionary<string, ScalarAttributeType>();
        void Define(KeySpec key)
        {
            types.TryAdd(key.Hash, ScalarAttributeType.S);
            if (key.Range is not null) types.TryAdd(key.Range, key.RangeType ?? ScalarAttributeType.S);
        }
        Define(table.Key);
        foreach (var index in table.Indexes) Define(index.Key);
        var request = new CreateTableRequest
        {
            TableName = prefix + table.Name,
            BillingMode = BillingMode.PAY_PER_REQUEST,
            KeySchema = Schema(table.Key),
            AttributeDefinitions = types.Select(t => new AttributeDefinition(t.Key, t.Value)).ToList(),
        };
        if (table.Indexes.Length > 0)
        {
            request.GlobalSecondaryIndexes = table.Indexes.Select(index => new GlobalSecondaryIndex
            {
                IndexName = index.Name,
                KeySchema = Schema(index.Key),
                Projection = new Projection { ProjectionType = ProjectionType.KEYS_ONLY },
            }).ToList();
        }
        return request;
    }

    private static List<KeySchemaElement> Schema(KeySpec key)
    {
        var schema = new List<KeySchemaElement> { new(key.Hash, KeyType.HASH) };
        if (key.Range is not null) schema.Add(new KeySchemaElement(key.Range, KeyType.RANGE));
        return schema;
    }

    /// <summary>Creates every missing table and waits until each is active; then turns on
    /// time to live and point-in-time recovery where the endpoint offers them (AWS does; a local
    /// engine may not). Safe to run again and from several nodes at once. Returns what it did, a
    /// line per table.</summary>
    public static async Task<IReadOnlyList<string>> CreateAsync(IAmazonDynamoDB client, string prefix, CancellationToken ct)
    {
        var report = new List<string>();
        foreach (var table in All)
        {
            var name = prefix + table.Name;
            var created = false;
            if (await StatusAsync(client, name, ct).ConfigureAwait(false) is null)
            {
                try
                {
                    await client.CreateTableAsync(CreateRequest(table, prefix), ct).ConfigureAwait(false);
                    created = true;
                }
                catch (ResourceInUseException)
                {
                    // Another node (or run) is creating it: wait for it below.
                }
            }
            for (var waited = 0; await StatusAsync(client, name, ct).ConfigureAwait(false) != TableStatus.ACTIVE; waited++)
            {
                if (waited > 600) throw new TimeoutException($"The DynamoDB table {name} did not become active within 5 minutes.");
                await Task.Delay(500, ct).ConfigureAwait(false);
            }
            var extras = new List<string>();
            if (table.TimeToLive is { } ttl) extras.Add(await TryAsync("time to live", () =>
                client.UpdateTimeToLiveAsync(new UpdateTimeToLiveRequest
                {
                    TableName = name,
                    TimeToLiveSpecification = new TimeToLiveSpecification { AttributeName = ttl, Enabled = true },
                }, ct)).ConfigureAwait(false));
            extras.Add(await TryAsync("point-in-time recovery", () =>
                client.UpdateContinuousBackupsAsync(new UpdateContinuousBackupsRequest
                {
                    TableName = name,
                    PointInTimeRecoverySpecification = new PointInTimeRecoverySpecification { PointInTimeRecoveryEnabled = true },
                }, ct)).ConfigureAwait(false));
            report.Add($"{name}: {(created ? "created" : "exists")}; {string.Join("; ", extras)}");
        }
        return report;
    }

    private static async Task<TableStatus?> StatusAsync(IAmazonDynamoDB client, string name, CancellationToken ct)
    {
        try
        {
            return (await client.DescribeTableAsync(name, ct).ConfigureAwait(false)).Table.TableStatus;
        }
        catch (ResourceNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Time to live and recovery settings are asked for again on every run (they are
    /// idempotent); an endpoint without them (dynalite) is reported, not an error. Turning time to
    /// live on twice is refused by AWS as "already enabled": that is a success here.</summary>
    private static async Task<string> TryAsync(string what, Func<Task> call)
    {
        try
        {
            await call().ConfigureAwait(false);
            return $"{what} on";
        }
        catch (AmazonDynamoDBException ex) when (ex.Message.Contains("already enabled", StringComparison.OrdinalIgnoreCase))
        {
            return $"{what} on";
        }
        catch (AmazonDynamoDBException ex) when (ex.ErrorCode is "UnknownOperationException" or "UnrecognizedClientException")
        {
            return $"{what} not offered by this endpoint ({ex.ErrorCode})";
        }
    }
}
