using Microsoft.Extensions.Options;
using Parley.Server.Blobs;
using Parley.Server.Configuration;
using Parley.Testing;
using Parley.Tests.Storage;

namespace Parley.Tests.Blobs;

/// <summary>The blob store contract, one suite per implementation: every store keeps bytes
/// exactly, answers null for what it does not hold, and refuses keys that could escape it.</summary>
public abstract class BlobStoreContractTests
{
    protected abstract IBlobStore Create();

    [StoreFact]
    public async Task Bytes_come_back_exactly_and_a_put_replaces_them()
    {
        var store = Create();
        var key = "media_" + Guid.NewGuid().ToString("N");
        var data = new byte[300_000];
        Random.Shared.NextBytes(data);
        await store.PutAsync(key, data, "application/octet-stream");
        byte[]? stored = await store.GetAsync(key);
        Assert.Equal(data, stored);
        await store.PutAsync(key, [1, 2, 3], "image/png");
        byte[]? replaced = await store.GetAsync(key);
        Assert.Equal(new byte[] { 1, 2, 3 }, replaced);
        await store.PutAsync(key + "-empty", [], "text/plain");
        byte[]? empty = await store.GetAsync(key + "-empty");
        Assert.Equal(Array.Empty<byte>(), empty);
    }

    [StoreFact]
    public async Task The_listing_names_every_key_held_with_when_it_was_written()
    {
        var store = Create();
        var kept = "media_" + Guid.NewGuid().ToString("N");
        var deleted = "media_" + Guid.NewGuid().ToString("N");
        var before = DateTimeOffset.UtcNow.AddMinutes(-1);
        await store.PutAsync(kept, [1], "image/png");
        await store.PutAsync(deleted, [2], "image/png");
        await store.DeleteAsync(deleted);

        var listed = new List<StoredBlob>();
        await foreach (var blob in store.ListAsync()) listed.Add(blob);
        var entry = Assert.Single(listed, b => b.Key == kept);
        Assert.InRange(entry.Written, before, DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.DoesNotContain(listed, b => b.Key == deleted);
    }

    [StoreFact]
    public async Task A_missing_or_deleted_key_reads_as_nothing()
    {
        var store = Create();
        var key = "media_" + Guid.NewGuid().ToString("N");
        Assert.Null(await store.GetAsync(key));
        await store.DeleteAsync(key);
        await store.PutAsync(key, [9], "text/plain");
        await store.DeleteAsync(key);
        Assert.Null(await store.GetAsync(key));
    }

    [StoreFact]
    public async Task Keys_that_could_name_something_else_are_refused()
    {
        var store = Create();
        foreach (var key in new[] { "../escape", "a/b", "", "dot.dot", "back\\slash" })
        {
            await Assert.ThrowsAsync<ArgumentException>(() => store.PutAsync(key, [1], "text/plain"));
            await Assert.ThrowsAsync<ArgumentException>(() => store.GetAsync(key));
        }
    }
}

public sealed class DirectoryBlobStoreTests : BlobStoreContractTests, IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "parley-tests", Guid.NewGuid().ToString("N"));

    protected override IBlobStore Create() => new DirectoryBlobStore(_root);

    [Fact]
    public async Task Files_live_under_the_root_and_no_temporary_file_stays_behind()
    {
        var store = Create();
        await store.PutAsync("media_abc", [1, 2], "image/png");
        var files = Directory.GetFiles(_root, "*", SearchOption.AllDirectories);
        Assert.Equal([Path.Combine(_root, "bc", "media_abc")], files);
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { /* best effort */ }
    }
}

public sealed class S3BlobStoreTests : BlobStoreContractTests, IRequiresS3
{
    protected override IBlobStore Create()
    {
        var options = new ParleyOptions();
        var settings = TestS3.Settings();
        options.Blobs.Provider = "S3";
        options.Blobs.S3 = new S3Options
        {
            ServiceUrl = settings["Parley:Blobs:S3:ServiceUrl"],
            ForcePathStyle = true,
            AccessKey = TestS3.AccessKey,
            SecretKey = TestS3.SecretKey,
            Bucket = settings["Parley:Blobs:S3:Bucket"]!,
        };
        return new S3BlobStore(Options.Create(options));
    }
}
