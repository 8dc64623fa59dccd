using System.Diagnostics.Metrics;
using System.Text;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Microsoft.Extensions.Options;
using Parley.Server.Configuration;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>
/// The DynamoDB tables of one deployment and the few ways the store reads and writes them. Every
/// request asks for its consumed capacity, which is counted (meter "Parley.Store":
/// <c>parley.dynamodb.read_units</c>, <c>parley.dynamodb.write_units</c>, and
/// <see cref="ReadUnits"/>/<see cref="WriteUnits"/> for the cost benchmark), so what an operation
/// costs is measured, not estimated.
/// </summary>
public sealed class DynamoDatabase : IDisposable
{
    private static readonly Meter Meter = new(StoreInstruments.Name);
    private static readonly Counter<double> ReadCounter = Meter.CreateCounter<double>("parley.dynamodb.read_units", "{unit}", "DynamoDB read capacity units consumed.");
    private static readonly Counter<double> WriteCounter = Meter.CreateCounter<double>("parley.dynamodb.write_units", "{unit}", "DynamoDB write capacity units consumed.");

    private double _readUnits;
    private double _writeUnits;

    public DynamoDatabase(IOptions<ParleyOptions> options)
    {
        var dynamo = options.Value.Storage.DynamoDb;
        Client = DynamoClient.Create(dynamo);
        Prefix = dynamo.TablePrefix;
        CreateTables = dynamo.CreateTables;
        Users = Prefix + DynamoTables.Users;
        Chats = Prefix + DynamoTables.Chats;
        ChatMembers = Prefix + DynamoTables.ChatMembers;
        Messages = Prefix + DynamoTables.Messages;
        Records = Prefix + DynamoTables.Records;
    }

    public AmazonDynamoDBClient Client { get; }
    public string Prefix { get; }
    public bool CreateTables { get; }
    public string Users { get; }
    public string Chats { get; }
    public string ChatMembers { get; }
    public string Messages { get; }
    public string Records { get; }

    /// <summary>Capacity consumed by this process so far.</summary>
    public double ReadUnits => Volatile.Read(ref _readUnits);
    public double WriteUnits => Volatile.Read(ref _writeUnits);

    private void Count(ConsumedCapacity? consumed)
    {
        if (consumed is null) return;
        var read = consumed.ReadCapacityUnits ?? 0;
        var write = consumed.WriteCapacityUnits ?? 0;
        // A local engine may report only the total: a write request's units are write units.
        if (read == 0 && write == 0 && consumed.CapacityUnits is { } total) read = total;
        if (read > 0) { Add(ref _readUnits, read); ReadCounter.Add(read); }
        if (write > 0) { Add(ref _writeUnits, write); WriteCounter.Add(write); }
    }

    private void CountWrite(ConsumedCapacity? consumed)
    {
        if (consumed is null) return;
        var write = consumed.WriteCapacityUnits ?? consumed.CapacityUnits ?? 0;
        if (write > 0) { Add(ref _writeUnits, write); WriteCounter.Add(write); }
    }

    private static void Add(ref double total, double value)
    {
        double seen, updated;
        do
        {
            seen = Volatile.Read(ref total);
            updated = seen + value;
        } while (Interlocked.CompareExchange(ref total, updated, seen) != seen);
    }

    /// <summary>Whether an item could have this key. DynamoDB refuses a key string that is empty or
    /// longer than it allows (1,024 bytes for a sort key, 2,048 for a partition key) with an error;
    /// no item has such a key, so reading, changing or deleting by one finds nothing instead. (Ids
    /// come from clients in paths and bodies; Parley's own are far shorter.)</summary>
    private static bool CanExist(Dictionary<string, AttributeValue> key) =>
        key.Values.All(v => v.S is null || (v.S.Length > 0 && Encoding.UTF8.GetByteCount(v.S) <= 1024));

    /// <summary>One item by its key, read strongly consistent; null when absent.</summary>
    public async Task<Dictionary<string, AttributeValue>?> GetAsync(string table, Dictionary<string, AttributeValue> key, string? projection = null)
    {
        if (!CanExist(key)) return null;
        var response = await Client.GetItemAsync(new GetItemRequest
        {
            TableName = table,
            Key = key,
            ConsistentRead = true,
            ProjectionExpression = projection,
            ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL,
        }).ConfigureAwait(false);
        Count(response.ConsumedCapacity);
        return response.Item is { Count: > 0 } item ? item : null;
    }

    /// <summary>Items by their keys (any number, any order), read strongly consistent; absent keys are left out.</summary>
    public async Task<List<Dictionary<string, AttributeValue>>> GetManyAsync(string table, IEnumerable<Dictionary<string, AttributeValue>> keys, string? projection = null)
    {
        var found = new List<Dictionary<string, AttributeValue>>();
        foreach (var chunk in keys.Where(CanExist).Chunk(100))
        {
            var pending = new Dictionary<string, KeysAndAttributes>
            {
                [table] = new KeysAndAttributes { Keys = chunk.ToList(), ConsistentRead = true, ProjectionExpression = projection },
            };
            for (var round = 0; pending.Count > 0; round++)
            {
                if (round > 0) await Task.Delay(Math.Min(1000, 20 << Math.Min(round, 6))).ConfigureAwait(false);
                var response = await Client.BatchGetItemAsync(new BatchGetItemRequest
                {
                    RequestItems = pending,
                    ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL,
                }).ConfigureAwait(false);
                foreach (var consumed in response.ConsumedCapacity ?? []) Count(consumed);
                if (response.Responses?.GetValueOrDefault(table) is { } items) found.AddRange(items);
                pending = response.UnprocessedKeys is { Count: > 0 } unprocessed ? unprocessed : [];
            }
        }
        return found;
    }

    /// <summary>Every item a query matches (following its pages), or the first <paramref name="limit"/>.</summary>
    public async Task<List<Dictionary<string, AttributeValue>>> QueryAsync(QueryRequest request, int limit = int.MaxValue)
    {
        var items = new List<Dictionary<string, AttributeValue>>();
        do
        {
            if (limit != int.MaxValue && request.FilterExpression is null) request.Limit = limit - items.Count;
            var response = await QueryPageAsync(request).ConfigureAwait(false);
            if (response.Items is { } page) items.AddRange(page);
            request.ExclusiveStartKey = response.LastEvaluatedKey is { Count: > 0 } next ? next : null;
        } while (request.ExclusiveStartKey is not null && items.Count < limit);
        if (items.Count > limit) items.RemoveRange(limit, items.Count - limit);
        return items;
    }

    /// <summary>One page of a query (read strongly consistent on the table itself).</summary>
    public async Task<QueryResponse> QueryPageAsync(QueryRequest request)
    {
        request.ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL;
        if (request.IndexName is null) request.ConsistentRead = true;
        var response = await Client.QueryAsync(request).ConfigureAwait(false);
        Count(response.ConsumedCapacity);
        return response;
    }

    /// <summary>Every item of a table a scan's filter keeps (following its pages).</summary>
    public async Task<List<Dictionary<string, AttributeValue>>> ScanAsync(ScanRequest request)
    {
        request.ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL;
        request.ConsistentRead = true;
        var items = new List<Dictionary<string, AttributeValue>>();
        do
        {
            var response = await Client.ScanAsync(request).ConfigureAwait(false);
            Count(response.ConsumedCapacity);
            if (response.Items is { } page) items.AddRange(page);
            request.ExclusiveStartKey = response.LastEvaluatedKey is { Count: > 0 } next ? next : null;
        } while (request.ExclusiveStartKey is not null);
        return items;
    }

    /// <summary>Writes an item; with a condition, false when the condition did not hold (nothing written).</summary>
    public async Task<bool> PutAsync(string table, Dictionary<string, AttributeValue> item, string? condition = null,
        Dictionary<string, AttributeValue>? values = null, Dictionary<string, string>? names = null)
    {
        try
        {
            var response = await Client.PutItemAsync(new PutItemRequest
            {
                TableName = table,
                Item = item,
                ConditionExpression = condition,
                ExpressionAttributeValues = values is { Count: > 0 } ? values : null,
                ExpressionAttributeNames = names is { Count: > 0 } ? names : null,
                ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL,
            }).ConfigureAwait(false);
            CountWrite(response.ConsumedCapacity);
            return true;
        }
        catch (ConditionalCheckFailedException)
        {
            return false;
        }
    }

    /// <summary>Puts an item unless one with its key exists; false when one does.</summary>
    public Task<bool> PutNewAsync(string table, Dictionary<string, AttributeValue> item, string hashKey) =>
        PutAsync(table, item, "attribute_not_exists(#k)", names: new() { ["#k"] = hashKey });

    /// <summary>Updates an item; null when the condition did not hold, else the item's new state
    /// (when <paramref name="returnNew"/>) or an empty item.</summary>
    public async Task<Dictionary<string, AttributeValue>?> UpdateAsync(string table, Dictionary<string, AttributeValue> key, string update,
        string? condition = null, Dictionary<string, AttributeValue>? values = null, Dictionary<string, string>? names = null, bool returnNew = false)
    {
        if (!CanExist(key)) return null;
        try
        {
            var response = await Client.UpdateItemAsync(new UpdateItemRequest
            {
                TableName = table,
                Key = key,
                UpdateExpression = update,
                ConditionExpression = condition,
                ExpressionAttributeValues = values is { Count: > 0 } ? values : null,
                ExpressionAttributeNames = names is { Count: > 0 } ? names : null,
                ReturnValues = returnNew ? ReturnValue.ALL_NEW : ReturnValue.NONE,
                ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL,
            }).ConfigureAwait(false);
            CountWrite(response.ConsumedCapacity);
            return response.Attributes ?? [];
        }
        catch (ConditionalCheckFailedException)
        {
            return null;
        }
    }

    /// <summary>Deletes an item; null when the condition did not hold (nothing deleted), else the
    /// item as it was (empty when there was none).</summary>
    public async Task<Dictionary<string, AttributeValue>?> DeleteAsync(string table, Dictionary<string, AttributeValue> key, string? condition = null,
        Dictionary<string, AttributeValue>? values = null, Dictionary<string, string>? names = null)
    {
        if (!CanExist(key)) return null;
        try
        {
            var response = await Client.DeleteItemAsync(new DeleteItemRequest
            {
                TableName = table,
                Key = key,
                ConditionExpression = condition,
                ExpressionAttributeValues = values is { Count: > 0 } ? values : null,
                ExpressionAttributeNames = names is { Count: > 0 } ? names : null,
                ReturnValues = ReturnValue.ALL_OLD,
                ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL,
            }).ConfigureAwait(false);
            CountWrite(response.ConsumedCapacity);
            return response.Attributes ?? [];
        }
        catch (ConditionalCheckFailedException)
        {
            return null;
        }
    }

    public async Task<bool> PingAsync(CancellationToken ct)
    {
        try
        {
            await Client.DescribeTableAsync(Records, ct).ConfigureAwait(false);
            return true;
        }
        catch (Amazon.Runtime.AmazonServiceException)
        {
            return false;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    public void Dispose() => Client.Dispose();
}
