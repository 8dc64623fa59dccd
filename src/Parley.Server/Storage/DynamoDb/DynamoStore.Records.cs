using Amazon.DynamoDBv2.Model;

namespace Parley.Server.Storage.DynamoDb;

internal sealed partial class DynamoStore
{
    /// <summary>The items of one <c>Records</c> partition, with an optional condition on <c>sk</c>
    /// (written against <c>#sk</c>, its values named in <paramref name="values"/>).</summary>
    private Task<List<Dictionary<string, AttributeValue>>> QueryRecordsAsync(string pk, string? sortCondition = null,
        Dictionary<string, AttributeValue>? values = null, int limit = int.MaxValue)
    {
        var expressionValues = new Dictionary<string, AttributeValue>(values ?? []) { [":pk"] = Item.S(pk) };
        return db.QueryAsync(new QueryRequest
        {
            TableName = db.Records,
            KeyConditionExpression = sortCondition is null ? "#pk = :pk" : "#pk = :pk AND " + sortCondition,
            ExpressionAttributeNames = sortCondition is null ? new() { ["#pk"] = "pk" } : new() { ["#pk"] = "pk", ["#sk"] = "sk" },
            ExpressionAttributeValues = expressionValues,
        }, limit);
    }
}
