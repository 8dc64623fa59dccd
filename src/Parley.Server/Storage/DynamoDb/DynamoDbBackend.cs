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
        // Nodes cannot read each other's events back by writer here: announcements carry them.
        services.AddSingleton<IClusterEventSource>(sp => sp.GetRequiredService<DynamoStore>());
    }
}
