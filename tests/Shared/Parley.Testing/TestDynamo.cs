namespace Parley.Testing;

/// <summary>The DynamoDB the suites use: <c>PARLEY_TEST_DYNAMODB</c> is the address of a local
/// DynamoDB endpoint (./test.sh starts dynalite and sets it). Every test server, and every store
/// test, gets tables of its own under a prefix of its own (<c>t{guid}_</c>), kept in the server's
/// data directory so a server started again on it finds the same data; the server creates them on
/// start. Keys are made up: a local endpoint takes any.</summary>
public static class TestDynamo
{
    /// <summary>Whether test servers run on DynamoDB.</summary>
    public static bool Enabled => TestBackend.Store == TestStore.DynamoDb;

    public static string? Endpoint =>
        Environment.GetEnvironmentVariable("PARLEY_TEST_DYNAMODB") is { Length: > 0 } value ? value : null;

    /// <summary>Why a test that needs DynamoDB is skipped, or null when it runs. Under CI=true it
    /// always runs: an absent engine is a failure there, not a skip.</summary>
    public static string? SkipReason =>
        Endpoint is not null || string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase)
            ? null
            : "DynamoDB is not configured: set PARLEY_TEST_DYNAMODB to a local endpoint such as dynalite (./test.sh starts one and sets it).";

    public const string MarkerFile = "dynamodb-prefix";

    /// <summary>The server settings of a store on tables of its own under <paramref name="prefix"/>.</summary>
    public static Dictionary<string, string?> Settings(string prefix) => new()
    {
        ["Parley:Storage:Provider"] = "DynamoDb",
        ["Parley:Storage:DynamoDb:ServiceUrl"] = Endpoint
            ?? throw new InvalidOperationException("DynamoDB tests need PARLEY_TEST_DYNAMODB, the address of a local DynamoDB endpoint (dynalite)."),
        ["Parley:Storage:DynamoDb:Region"] = "us-east-1",
        ["Parley:Storage:DynamoDb:TablePrefix"] = prefix,
        ["Parley:Storage:DynamoDb:CreateTables"] = "true",
        ["Parley:Storage:DynamoDb:AccessKey"] = "local",
        ["Parley:Storage:DynamoDb:SecretKey"] = "local",
    };

    public static string NewPrefix() => "t" + Guid.NewGuid().ToString("N")[..20] + "_";

    /// <summary>The table prefix that belongs to a data directory, made on first use.</summary>
    public static async Task<string> PrefixForAsync(string dataDirectory)
    {
        var marker = Path.Combine(dataDirectory, MarkerFile);
        if (File.Exists(marker)) return (await File.ReadAllTextAsync(marker)).Trim();
        Directory.CreateDirectory(dataDirectory);
        var prefix = NewPrefix();
        await File.WriteAllTextAsync(marker, prefix);
        return prefix;
    }
}
