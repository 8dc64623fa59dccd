using System.Globalization;
using System.Text;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Parley.Server.Storage.DynamoDb;
using Parley.Testing;

namespace Parley.Tests.Infrastructure;

/// <summary>Reads a test server's DynamoDB tables directly (for <see cref="ServerDatabase"/> when the
/// suite runs on DynamoDB): what an attacker holding a copy of the tables would see.</summary>
internal static class ServerDynamo
{
    private static AmazonDynamoDBClient Client() => new(new BasicAWSCredentials("local", "local"),
        new AmazonDynamoDBConfig { ServiceURL = TestDynamo.Endpoint, AuthenticationRegion = "us-east-1" });

    private static string Table(ParleyServer server, string name) =>
        TestDynamo.PrefixForAsync(server.DataDirectory).GetAwaiter().GetResult() + name;

    public static List<Dictionary<string, AttributeValue>> Scan(ParleyServer server, string table)
    {
        using var client = Client();
        var items = new List<Dictionary<string, AttributeValue>>();
        var request = new ScanRequest { TableName = Table(server, table), ConsistentRead = true };
        do
        {
            var response = client.ScanAsync(request).GetAwaiter().GetResult();
            items.AddRange(response.Items ?? []);
            request.ExclusiveStartKey = response.LastEvaluatedKey is { Count: > 0 } next ? next : null;
        } while (request.ExclusiveStartKey is not null);
        return items;
    }

    public static Dictionary<string, AttributeValue>? Record(ParleyServer server, string pk, string sk)
    {
        using var client = Client();
        var response = client.GetItemAsync(new GetItemRequest
        {
            TableName = Table(server, DynamoTables.Records),
            Key = new() { ["pk"] = new AttributeValue { S = pk }, ["sk"] = new AttributeValue { S = sk } },
            ConsistentRead = true,
        }).GetAwaiter().GetResult();
        return response.Item is { Count: > 0 } item ? item : null;
    }

    /// <summary>Reads an item by its key, strongly consistent.</summary>
    public static async Task<Dictionary<string, AttributeValue>?> GetAsync(ParleyServer server, string table, Dictionary<string, AttributeValue> key)
    {
        using var client = Client();
        var response = await client.GetItemAsync(new GetItemRequest { TableName = Table(server, table), Key = key, ConsistentRead = true });
        return response.Item is { Count: > 0 } item ? item : null;
    }

    /// <summary>Writes an item as another process on the same tables would.</summary>
    public static async Task PutAsync(ParleyServer server, string table, Dictionary<string, AttributeValue> item)
    {
        using var client = Client();
        await client.PutItemAsync(new PutItemRequest { TableName = Table(server, table), Item = item });
    }

    public static string? Text(Dictionary<string, AttributeValue> item, string name) => item.TryGetValue(name, out var value) ? value.S : null;

    /// <summary>Writes into a 1:1 chat's item what a send of <paramref name="senderId"/> leaves once it
    /// has taken the chat's next seq and the positions up to <paramref name="positions"/> past the last
    /// (at <paramref name="claimedAt"/>) and counted its message, before it stores the message. Returns
    /// the chat's last position, last seq and number from before the claim.</summary>
    public static async Task<(long LastPos, long LastSeq, long ChatNo)> ClaimPositionAsync(ParleyServer server, string chatId, string senderId,
        long positions, DateTimeOffset claimedAt)
    {
        var chat = (await GetAsync(server, DynamoTables.Chats, new() { ["chatId"] = new AttributeValue { S = chatId } }))!;
        long Number(string name) => chat.TryGetValue(name, out var value) ? long.Parse(value.N, CultureInfo.InvariantCulture) : 0;
        static AttributeValue N(long value) => new() { N = value.ToString(CultureInfo.InvariantCulture) };
        var before = (Number("lastPos"), Number("lastSeq"), Number("chatNo"));
        chat["basePos"] = N(before.Item1);
        chat["baseSeq"] = N(before.Item2);
        chat["lastPos"] = N(before.Item1 + positions);
        chat["lastSeq"] = N(before.Item2 + 1);
        chat["claimAt"] = N(claimedAt.ToUnixTimeMilliseconds());
        chat["sent_" + senderId] = N(Number("sent_" + senderId) + 1);
        chat["claimSenders"] = new AttributeValue { S = senderId };
        await PutAsync(server, DynamoTables.Chats, chat);
        return before;
    }

    /// <summary>Every item of every table, as text: what an export of the tables would hold.</summary>
    public static byte[] Dump(ParleyServer server)
    {
        var dump = new StringBuilder();
        foreach (var table in DynamoTables.All)
        {
            foreach (var item in Scan(server, table.Name))
            {
                foreach (var (name, value) in item) dump.Append(name).Append('=').Append(value.S ?? value.N ?? value.BOOL?.ToString()).Append(' ');
                dump.AppendLine();
            }
        }
        return Encoding.UTF8.GetBytes(dump.ToString());
    }
}
