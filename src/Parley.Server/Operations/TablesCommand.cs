using Parley.Server.Storage.DynamoDb;

namespace Parley.Server.Operations;

/// <summary>
/// <c>dotnet Parley.Server.dll tables create</c>: creates Parley's DynamoDB tables and their indexes
/// (<see cref="DynamoTables"/>) where they are missing, and turns on time to live and point-in-time
/// recovery where the endpoint offers them. Safe to run again. Settings as the server reads them:
/// <c>--Parley:Storage:DynamoDb:Region=eu-west-1</c>, <c>TablePrefix</c>, <c>ServiceUrl</c> (or the
/// same names in the environment, <c>Parley__Storage__DynamoDb__Region</c>).
/// </summary>
public static class TablesCommand
{
    public static bool Matches(string[] args) => args.Length > 0 && args[0] == "tables";

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length < 2 || args[1] != "create")
        {
            Console.Error.WriteLine("Usage: dotnet Parley.Server.dll tables create [--Parley:Storage:DynamoDb:Region=<region>] [--Parley:Storage:DynamoDb:TablePrefix=<prefix>] [--Parley:Storage:DynamoDb:ServiceUrl=<url>]");
            return 2;
        }
        var options = CommandSettings.Read(args[2..]);
        try
        {
            using var client = DynamoClient.Create(options.Storage.DynamoDb);
            foreach (var line in await DynamoTables.CreateAsync(client, options.Storage.DynamoDb.TablePrefix, CancellationToken.None))
            {
                Console.WriteLine(line);
            }
            return 0;
        }
        catch (Exception ex) when (ex is InvalidOperationException or Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException
                                       or HttpRequestException or TimeoutException)
        {
            Console.Error.WriteLine($"The tables could not be created: {StartupFailure.Describe(ex)}");
            return 1;
        }
    }
}
