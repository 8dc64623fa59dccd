using Parley.Tests.Cluster;

namespace Parley.Tests.Operations;

/// <summary>A server that cannot start (a wrong setting, a store that does not answer or refuses
/// it) says why in one line and exits with 1: no stack trace, no abort.</summary>
public sealed class StartupFailureTests
{
    public static TheoryData<string, string, string> Failures => new()
    {
        { "a setting with no such value", "Parley__Users__Directory=Everyone", "Parley:Users:Directory must be All or Contacts, not 'Everyone'." },
        { "a secrets key too short to be one", "Parley__Auth__SecretsKey=c2hvcnQ=", "Parley:Auth:SecretsKey must be at least 32 random characters (make one with: openssl rand -base64 32)." },
        { "a SQLite log size out of range", "Parley__Storage__LogRestartMiB=0", "Parley:Storage:LogRestartMiB must be between 1 and 4096 (it is 0)." },
        { "a quiet spell out of range", "Parley__Memory__TrimAfterQuietSeconds=-1", "Parley:Memory:TrimAfterQuietSeconds must be between 0 (never) and 3600 (it is -1)." },
        { "a trim growth out of range", "Parley__Memory__TrimGrowthMiB=0", "Parley:Memory:TrimGrowthMiB must be at least 1 (it is 0)." },
        { "PostgreSQL without a connection string", "Parley__Storage__Provider=Postgres", "Parley:Storage:ConnectionString is required" },
        { "PostgreSQL that does not answer", "Parley__Storage__Provider=Postgres;Parley__Storage__ConnectionString=Host=127.0.0.1|Port=1|Username=parley|Timeout=3", "PostgreSQL: Failed to connect to 127.0.0.1:1" },
        { "DynamoDB without credentials", "Parley__Storage__Provider=DynamoDb;Parley__Storage__DynamoDb__ServiceUrl=http://127.0.0.1:1", "Failed to resolve AWS credentials. Give Parley:Storage:DynamoDb:AccessKey and SecretKey" },
        { "DynamoDB that does not answer", "Parley__Storage__Provider=DynamoDb;Parley__Storage__DynamoDb__ServiceUrl=http://127.0.0.1:1;Parley__Storage__DynamoDb__AccessKey=local;Parley__Storage__DynamoDb__SecretKey=local", "a service it needs did not answer: Connection refused (127.0.0.1:1)" },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task A_server_that_cannot_start_says_why_in_one_line_and_exits_with_1(string what, string settings, string expected)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "parley-tests", Guid.NewGuid().ToString("N"));
        // name=value pairs split by ';', with '|' standing for the ';' inside a connection string.
        var environment = settings.Split(';').Select(s => s.Split('=', 2)).ToDictionary(p => p[0], p => p[1].Replace('|', ';'));
        environment["Parley__DataDirectory"] = dataDirectory;
        environment["AWS_EC2_METADATA_DISABLED"] = "true";
        try
        {
            var (exitCode, output) = await NodeProcess.RunCommandAsync(environment, "--urls", "http://127.0.0.1:0");
            Assert.True(exitCode == 1, $"{what}: exit code {exitCode}, output:\n{output}");
            var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var said = Assert.Single(lines, l => l.StartsWith("Parley could not start: ", StringComparison.Ordinal));
            Assert.Contains(expected, said);
            Assert.DoesNotContain(lines, l => l.StartsWith("at ", StringComparison.Ordinal));
            Assert.DoesNotContain("Unhandled exception", output);
            Assert.DoesNotContain("fail:", output);
        }
        finally
        {
            if (Directory.Exists(dataDirectory)) Directory.Delete(dataDirectory, recursive: true);
        }
    }
}
