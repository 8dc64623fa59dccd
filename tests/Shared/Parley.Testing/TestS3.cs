using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Parley.Testing;

/// <summary>The S3 endpoint the suites use: <c>PARLEY_TEST_S3</c> is the address of an
/// S3-compatible server (./test.sh starts <c>s3rver</c> from npm and sets it). With
/// <c>PARLEY_TEST_BLOBS=s3</c>, every test server keeps its media there, in a bucket of its own.</summary>
public static class TestS3
{
    /// <summary>s3rver's fixed development credentials.</summary>
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";

    public static string? Endpoint => Environment.GetEnvironmentVariable("PARLEY_TEST_S3") is { Length: > 0 } value ? value : null;

    /// <summary>Whether test servers keep their media in S3.</summary>
    public static bool ForServers => TestBackend.Blobs == TestBlobs.S3;

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
        ["Parley:Blobs:S3:Bucket"] = bucket ?? NewBucketName(),
    };

    private static string NewBucketName() => "parley-test-" + Guid.NewGuid().ToString("N")[..16];

    private const string MarkerFile = "s3-bucket";

    /// <summary>The bucket that belongs to a data directory, named on first use and kept in it, so a
    /// restart on the same directory finds the same media. The server makes the bucket when it first needs it.</summary>
    public static async Task<string> BucketForAsync(string dataDirectory)
    {
        var marker = Path.Combine(dataDirectory, MarkerFile);
        if (File.Exists(marker)) return (await File.ReadAllTextAsync(marker)).Trim();
        var bucket = NewBucketName();
        await File.WriteAllTextAsync(marker, bucket);
        return bucket;
    }

    /// <summary>Empties and deletes the bucket of a data directory, if one was named there.</summary>
    public static async Task DropBucketOfAsync(string dataDirectory)
    {
        var marker = Path.Combine(dataDirectory, MarkerFile);
        if (Endpoint is null || !File.Exists(marker)) return;
        var bucket = (await File.ReadAllTextAsync(marker)).Trim();
        using var client = new AmazonS3Client(new BasicAWSCredentials(AccessKey, SecretKey),
            new AmazonS3Config { ServiceURL = Endpoint, AuthenticationRegion = "us-east-1", ForcePathStyle = true });
        try
        {
            ListObjectsV2Response page;
            do
            {
                page = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket });
                foreach (var item in page.S3Objects ?? []) await client.DeleteObjectAsync(bucket, item.Key);
            }
            while (page.IsTruncated == true);
            await client.DeleteBucketAsync(bucket);
        }
        catch (Exception ex) when (ex is AmazonS3Exception or HttpRequestException)
        {
            // Best effort: a server that never stored media never made its bucket, and a throwaway
            // S3 server is removed whole at the end of the run.
        }
    }
}
