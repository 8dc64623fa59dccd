using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Parley.Server.Storage.DynamoDb;
using Parley.Testing;
using Parley.Tests.Cluster;

namespace Parley.Tests.Storage;

/// <summary><c>dotnet Parley.Server.dll tables create</c> against a real DynamoDB endpoint (dynalite).</summary>
public sealed class DynamoTablesTests
{
    private static Task<(int ExitCode, string Output)> TablesAsync(params string[] args) => NodeProcess.RunCommandAsync(
        new Dictionary<string, string> { ["Parley__Storage__DynamoDb__AccessKey"] = "local", ["Parley__Storage__DynamoDb__SecretKey"] = "local" }, args);

    [DynamoFact]
    public async Task Tables_create_makes_every_table_with_its_keys_and_indexes_and_a_second_run_changes_nothing()
    {
        var prefix = TestDynamo.NewPrefix();
        string[] args = ["tables", "create", $"--Parley:Storage:DynamoDb:ServiceUrl={TestDynamo.Endpoint}", $"--Parley:Storage:DynamoDb:TablePrefix={prefix}"];

        var first = await TablesAsync(args);
        var second = await TablesAsync(args);

        Assert.True(first.ExitCode == 0, first.Output);
        Assert.True(second.ExitCode == 0, second.Output);
        foreach (var table in DynamoTables.All)
        {
            Assert.Contains($"{prefix}{table.Name}: created", first.Output);
            Assert.Contains($"{prefix}{table.Name}: exists", second.Output);
        }
        using var client = new AmazonDynamoDBClient(new BasicAWSCredentials("local", "local"),
            new AmazonDynamoDBConfig { ServiceURL = TestDynamo.Endpoint, AuthenticationRegion = "us-east-1" });
        foreach (var spec in DynamoTables.All)
        {
            var described = (await client.DescribeTableAsync(prefix + spec.Name)).Table;
            var wanted = DynamoTables.CreateRequest(spec, prefix);
            Assert.Equal(wanted.KeySchema.Select(k => (k.AttributeName, k.KeyType.Value)), described.KeySchema.Select(k => (k.AttributeName, k.KeyType.Value)));
            Assert.Equal((wanted.GlobalSecondaryIndexes ?? []).Select(i => i.IndexName).Order(), (described.GlobalSecondaryIndexes ?? []).Select(i => i.IndexName).Order());
            Assert.Equal(wanted.AttributeDefinitions.Select(a => (a.AttributeName, a.AttributeType.Value)).Order(),
                described.AttributeDefinitions.Select(a => (a.AttributeName, a.AttributeType.Value)).Order());
        }
    }

    [Fact]
    public async Task Tables_without_create_or_with_a_bad_prefix_is_refused_with_its_usage()
    {
        var usage = await TablesAsync("tables");
        var badPrefix = await TablesAsync("tables", "create", "--Parley:Storage:DynamoDb:TablePrefix=no spaces", "--Parley:Storage:DynamoDb:ServiceUrl=http://127.0.0.1:9");

        Assert.Equal(2, usage.ExitCode);
        Assert.Contains("Usage: dotnet Parley.Server.dll tables create", usage.Output);
        Assert.Equal(1, badPrefix.ExitCode);
        Assert.Contains("TablePrefix must be 1 to 200", badPrefix.Output);
    }
}
