namespace Parley.Server.Storage.DynamoDb;

/// <summary>The AWS backend: DynamoDB tables that every node of a cluster uses.</summary>
internal static class DynamoDbBackend
{
    public const string Name = "DynamoDb";

    public static void Register(IServiceCollection services)
    {
        services.AddSingleton<DynamoDatabase>();
        services.AddSingleton<DynamoWriters>();
        services.AddStore<DynamoStore>();
    }
}
