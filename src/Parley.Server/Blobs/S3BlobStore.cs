using System.Net;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Options;
using Parley.Server.Configuration;

namespace Parley.Server.Blobs;

/// <summary>The scale option: media bytes as objects in one S3 bucket (keys as given), so every
/// node of a cluster reads the same bytes and the database stays small. The bucket is created on
/// first use when it does not exist (on AWS it is the stack's, and the server only uses it).</summary>
public sealed class S3BlobStore : IBlobStore, IDisposable
{
    private readonly AmazonS3Client _client;
    private readonly string _bucket;
    private readonly SemaphoreSlim _bucketGate = new(1, 1);
    private volatile bool _bucketReady;

    public S3BlobStore(IOptions<ParleyOptions> options)
    {
        var s3 = options.Value.Blobs.S3;
        if (string.IsNullOrWhiteSpace(s3.Bucket)) throw new InvalidOperationException("Parley:Blobs:S3:Bucket is required for the S3 blob store.");
        _bucket = s3.Bucket;
        var config = new AmazonS3Config
        {
            ForcePathStyle = s3.ForcePathStyle,
            // Checksums only where S3 requires them: trailing checksums need aws-chunked uploads,
            // which S3-compatible servers do not all understand.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (!string.IsNullOrWhiteSpace(s3.ServiceUrl))
        {
            config.ServiceURL = s3.ServiceUrl;
            config.AuthenticationRegion = s3.Region ?? "us-east-1";
        }
        else if (!string.IsNullOrWhiteSpace(s3.Region))
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(s3.Region);
        }
        _client = s3.AccessKey is { Length: > 0 } && s3.SecretKey is { Length: > 0 }
            ? new AmazonS3Client(new BasicAWSCredentials(s3.AccessKey, s3.SecretKey), config)
            : new AmazonS3Client(config);
    }

    private async Task EnsureBucketAsync(CancellationToken ct)
    {
        if (_bucketReady) return;
        await _bucketGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_bucketReady) return;
            try
            {
                // Look first: a server on AWS may list its bucket (s3:ListBucket) but not make one.
                await _client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _bucket, MaxKeys = 1 }, ct).ConfigureAwait(false);
            }
            catch (AmazonS3Exception missing) when (missing.StatusCode == HttpStatusCode.NotFound)
            {
                try
                {
                    await _client.PutBucketAsync(new PutBucketRequest { BucketName = _bucket }, ct).ConfigureAwait(false);
                }
                catch (AmazonS3Exception ex) when (ex.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists")
                {
                    // Someone (another node, an earlier start) made it meanwhile.
                }
            }
            _bucketReady = true;
        }
        finally
        {
            _bucketGate.Release();
        }
    }

    public async Task PutAsync(string key, byte[] data, string contentType, CancellationToken ct = default)
    {
        BlobKeys.Check(key);
        await EnsureBucketAsync(ct).ConfigureAwait(false);
        using var body = new MemoryStream(data, writable: false);
        await _client.PutObjectAsync(new PutObjectRequest
        {
            BucketName = _bucket,
            Key = key,
            InputStream = body,
            ContentType = contentType,
            AutoCloseStream = false,
            // One signed body instead of aws-chunked streaming: uploads are in memory anyway.
            UseChunkEncoding = false,
        }, ct).ConfigureAwait(false);
    }

    public async Task<byte[]?> GetAsync(string key, CancellationToken ct = default)
    {
        BlobKeys.Check(key);
        await EnsureBucketAsync(ct).ConfigureAwait(false);
        try
        {
            using var response = await _client.GetObjectAsync(_bucket, key, ct).ConfigureAwait(false);
            using var buffer = new MemoryStream(response.ContentLength > 0 ? (int)Math.Min(response.ContentLength, int.MaxValue) : 0);
            await response.ResponseStream.CopyToAsync(buffer, ct).ConfigureAwait(false);
            return buffer.ToArray();
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async Task DeleteAsync(string key, CancellationToken ct = default)
    {
        BlobKeys.Check(key);
        await EnsureBucketAsync(ct).ConfigureAwait(false);
        await _client.DeleteObjectAsync(_bucket, key, ct).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<StoredBlob> ListAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        await EnsureBucketAsync(ct).ConfigureAwait(false);
        var request = new ListObjectsV2Request { BucketName = _bucket };
        while (true)
        {
            var page = await _client.ListObjectsV2Async(request, ct).ConfigureAwait(false);
            foreach (var entry in page.S3Objects ?? [])
            {
                if (!BlobKeys.IsValid(entry.Key)) continue;
                var written = entry.LastModified is { } modified ? new DateTimeOffset(modified.ToUniversalTime(), TimeSpan.Zero) : DateTimeOffset.UtcNow;
                yield return new StoredBlob(entry.Key, written);
            }
            if (page.IsTruncated != true || string.IsNullOrEmpty(page.NextContinuationToken)) yield break;
            request.ContinuationToken = page.NextContinuationToken;
        }
    }

    /// <summary>A put is atomic in S3: a failed one leaves nothing behind.</summary>
    public Task<int> DeleteAbandonedWritesAsync(DateTimeOffset writtenBefore, CancellationToken ct = default) => Task.FromResult(0);

    public void Dispose()
    {
        _client.Dispose();
        _bucketGate.Dispose();
    }
}
