namespace Parley.Tests.Infrastructure;

/// <summary>The S3 endpoint the suites use: <c>PARLEY_TEST_S3</c> is the address of an
/// S3-compatible server (./test.sh starts <c>s3rver</c> from npm and sets it). With
/// <c>PARLEY_TEST_BLOBS=s3</c>, every test server keeps its media there, in a bucket of its own.</summary>
public static class TestS3
{
    /// <summary>s3rver's fixed development credentials.</summary>
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";

    public static string? Endpoint => Environment.GetEnvironmentVariable("PARLEY_TEST_S3") is { Length: > 0 } value ? value : null;

    public static bool ForServers =>
        string.Equals(Environment.GetEnvironmentVariable("PARLEY_TEST_BLOBS"), "s3", StringComparison.OrdinalIgnoreCase);

    /// <summary>Why a test that needs S3 is skipped, or null when it runs. Under CI=true it always
    /// runs: an absent S3 server is a failure there, not a skip.</summary>
    public static string? SkipReason =>
        Endpoint is not null || string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase)
            ? null
            : "S3 is not configured: set PARLEY_TEST_S3 to an S3-compatible endpoint (./test.sh starts s3rver and sets it).";

    /// <summary>Settings for a blob store in a fresh bucket.</summary>
    public static Dictionary<string, string?> Settings(string? bucket = null) => new()
    {
        ["Parley:Blobs:Provider"] = "S3",
        ["Parley:Blobs:S3:ServiceUrl"] = Endpoint ?? "http://127.0.0.1:1",
        ["Parley:Blobs:S3:ForcePathStyle"] = "true",
        ["Parley:Blobs:S3:AccessKey"] = AccessKey,
        ["Parley:Blobs:S3:SecretKey"] = SecretKey,
        ["Parley:Blobs:S3:Bucket"] = bucket ?? "parley-test-" + Guid.NewGuid().ToString("N")[..16],
    };
}

/// <summary>A fact that needs the S3 server (skipped outside CI when none is configured).</summary>
public sealed class S3FactAttribute : FactAttribute
{
    public S3FactAttribute()
    {
        if (TestS3.SkipReason is { } reason) Skip = reason;
    }
}
