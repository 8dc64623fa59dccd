using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Blobs;
using Parley.Testing;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Blobs;

/// <summary>Deleted media is gone from the blob store too, not only from the database: an expired
/// message's attachment, a replaced profile photo, and a deleted account's photo and unsent
/// uploads. Each case runs on the server's usual blob store (a directory, or S3 in the PostgreSQL
/// pass of test.sh) and on S3.</summary>
public sealed class MediaBlobLifecycleTests
{
    internal static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 4, 5, 6];

    private static Dictionary<string, string?> FastSweeps(bool s3)
    {
        var settings = s3 ? TestS3.Settings() : [];
        settings["Parley:Retention:SweepSeconds"] = "1";
        return settings;
    }

    internal static async Task<string> UploadAsync(TestUser user, string path = "/media", HttpMethod? method = null)
    {
        using var request = new HttpRequestMessage(method ?? HttpMethod.Post, path) { Content = new ByteArrayContent(Png) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "image/png");
        var response = await user.Api.SendAsync(request);
        Assert.True(response.Status is HttpStatusCode.Created or HttpStatusCode.OK, $"upload to {path}: {response.Status}");
        return response.Json.TryGetProperty("mediaId", out var id) ? id.GetString()! : response.Json.Str("photoUrl")!.Split('/')[^1];
    }

    /// <summary>The bytes under <paramref name="key"/> as the server's own blob store holds them
    /// (its directory or its bucket); with a directory, the file is checked on disk as well.</summary>
    private static async Task<byte[]?> StoredBytesAsync(ParleyServer server, string key)
    {
        var blobs = server.Services.GetRequiredService<IBlobStore>();
        var bytes = await blobs.GetAsync(key);
        if (blobs is DirectoryBlobStore)
        {
            Assert.Equal(bytes is not null, File.Exists(Path.Combine(server.DataDirectory, "blobs", key[^2..], key)));
        }
        return bytes;
    }

    private static async Task WaitUntilGoneAsync(ParleyServer server, string key)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (await StoredBytesAsync(server, key) is not null)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the bytes of {key} are still in the blob store");
            await Task.Delay(100);
        }
    }

    internal static async Task<(HttpStatusCode Status, byte[] Bytes)> DownloadAsync(TestUser user, string mediaId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/media/{mediaId}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", user.Api.AccessToken);
        using var response = await user.Api.Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public Task An_expired_messages_attachment_leaves_the_blob_store() => ExpiredAttachmentLeavesAsync(s3: false);

    [S3Fact]
    public Task An_expired_messages_attachment_leaves_the_S3_bucket() => ExpiredAttachmentLeavesAsync(s3: true);

    private static async Task ExpiredAttachmentLeavesAsync(bool s3)
    {
        var clock = new TestClock();
        await using var server = await ParleyServer.StartAsync(FastSweeps(s3), clock: clock);
        if (s3) Assert.IsType<S3BlobStore>(server.Services.GetRequiredService<IBlobStore>());
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        (await ann.Api.PutAsync($"/chats/{chatId}/settings", new { disappearAfterSeconds = 86400 })).AssertStatus(HttpStatusCode.OK, "timer on");
        var mediaId = await UploadAsync(ann);
        (await ann.Api.PostAsync($"/chats/{chatId}/messages", new { type = "image", content = "soon gone", media = new { mediaId } }))
            .AssertStatus(HttpStatusCode.Created, "send photo");
        // A file that is kept: sent in the same chat after the timer went off.
        (await ann.Api.PutAsync($"/chats/{chatId}/settings", new { disappearAfterSeconds = 0 })).AssertStatus(HttpStatusCode.OK, "timer off");
        var keptId = await UploadAsync(ann);
        (await ann.Api.PostAsync($"/chats/{chatId}/messages", new { type = "image", content = "stays", media = new { mediaId = keptId } }))
            .AssertStatus(HttpStatusCode.Created, "send the kept photo");
        Assert.Equal(Png, await StoredBytesAsync(server, mediaId));

        clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        await WaitUntilGoneAsync(server, mediaId);

        Assert.Equal(0, ServerDatabase.MediaCount(server, mediaId));
        var annNow = await ApiClient.SignInAgainAsync(server, ann);
        var bobNow = await ApiClient.SignInAgainAsync(server, bob);
        Assert.Equal(HttpStatusCode.NotFound, (await DownloadAsync(annNow, mediaId)).Status); // the sender's expired photo
        Assert.Equal(HttpStatusCode.NotFound, (await DownloadAsync(bobNow, mediaId)).Status); // the receiver's expired photo
        Assert.Equal(Png, await StoredBytesAsync(server, keptId));
        var kept = await DownloadAsync(bobNow, keptId); // the photo sent without a timer
        Assert.Equal(HttpStatusCode.OK, kept.Status);
        Assert.Equal(Png, kept.Bytes);
    }

    [Fact]
    public Task A_deleted_accounts_photo_leaves_the_blob_store() => DeletedAccountsMediaLeavesAsync(s3: false);

    [S3Fact]
    public Task A_deleted_accounts_photo_leaves_the_S3_bucket() => DeletedAccountsMediaLeavesAsync(s3: true);

    [Fact]
    public Task A_replaced_profile_photo_leaves_the_blob_store() => ReplacedPhotoLeavesAsync(s3: false);

    [S3Fact]
    public Task A_replaced_profile_photo_leaves_the_S3_bucket() => ReplacedPhotoLeavesAsync(s3: true);

    private static async Task ReplacedPhotoLeavesAsync(bool s3)
    {
        await using var server = await ParleyServer.StartAsync(s3 ? TestS3.Settings() : null);
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        await ann.OpenChatWithAsync(bob);
        var oldPhoto = await UploadAsync(bob, "/users/me/photo", HttpMethod.Put);
        Assert.Equal(HttpStatusCode.OK, (await DownloadAsync(ann, oldPhoto)).Status); // Bob's first photo

        var newPhoto = await UploadAsync(bob, "/users/me/photo", HttpMethod.Put);

        Assert.NotEqual(oldPhoto, newPhoto);
        Assert.Null(await StoredBytesAsync(server, oldPhoto));
        Assert.Equal(0, ServerDatabase.MediaCount(server, oldPhoto));
        Assert.Equal(HttpStatusCode.NotFound, (await DownloadAsync(ann, oldPhoto)).Status); // the replaced photo
        Assert.Equal(HttpStatusCode.NotFound, (await DownloadAsync(bob, oldPhoto)).Status); // the replaced photo, for its owner too
        Assert.Equal(HttpStatusCode.OK, (await DownloadAsync(ann, newPhoto)).Status); // the new photo
    }

    private static async Task DeletedAccountsMediaLeavesAsync(bool s3)
    {
        await using var server = await ParleyServer.StartAsync(s3 ? TestS3.Settings() : null);
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        var photoId = await UploadAsync(bob, "/users/me/photo", HttpMethod.Put);
        var unsentId = await UploadAsync(bob);
        var sentId = await UploadAsync(bob);
        (await bob.Api.PostAsync($"/chats/{chatId}/messages", new { type = "image", content = "for Ann", media = new { mediaId = sentId } }))
            .AssertStatus(HttpStatusCode.Created, "send photo");
        Assert.Equal(HttpStatusCode.OK, (await DownloadAsync(ann, photoId)).Status); // Bob's profile photo
        Assert.Equal(Png, await StoredBytesAsync(server, photoId));

        (await bob.Api.DeleteAsync("/users/me")).AssertStatus(HttpStatusCode.NoContent, "delete account");

        // Gone by the time the request is answered.
        Assert.Null(await StoredBytesAsync(server, photoId));
        Assert.Null(await StoredBytesAsync(server, unsentId));
        Assert.Equal(0, ServerDatabase.MediaCount(server, photoId));
        Assert.Equal(HttpStatusCode.NotFound, (await DownloadAsync(ann, photoId)).Status); // the deleted account's photo
        // What Bob sent stays Ann's: the chat still shows it.
        Assert.Equal(Png, await StoredBytesAsync(server, sentId));
        Assert.Equal(HttpStatusCode.OK, (await DownloadAsync(ann, sentId)).Status); // the photo Bob sent before he left
    }

    [Fact]
    public async Task Bytes_that_no_media_row_describes_are_swept_and_young_ones_wait()
    {
        // A sweep every second, and bytes count as orphans after 5 s. Not at once: an upload writes
        // its bytes before its row, and a sweep that lists them in between would take them for an
        // orphan (the grace exists for that), deleting the upload this test keeps.
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?>
        {
            ["Parley:Blobs:OrphanSweepSeconds"] = "1",
            ["Parley:Blobs:OrphanGraceSeconds"] = "5",
        });
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var mediaId = await UploadAsync(ann);
        // Left behind by a node that died between a row's deletion and its bytes', or by an upload
        // whose row never committed.
        var orphan = "media_" + Guid.NewGuid().ToString("N");
        await server.Services.GetRequiredService<IBlobStore>().PutAsync(orphan, Png, "image/png");
        // Left behind by a process killed between writing an upload's bytes and renaming them.
        var abandoned = AbandonedWrite(server);

        await WaitUntilGoneAsync(server, orphan);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (abandoned is not null && File.Exists(abandoned))
        {
            Assert.True(DateTime.UtcNow < deadline, $"{abandoned} is still in the blob directory");
            await Task.Delay(100);
        }
        Assert.Equal(Png, await StoredBytesAsync(server, mediaId));
        var download = await DownloadAsync(ann, mediaId);
        Assert.Equal(HttpStatusCode.OK, download.Status);
        Assert.Equal(Png, download.Bytes);
    }

    [Fact]
    public async Task Bytes_younger_than_the_grace_period_are_not_swept()
    {
        // An upload writes its bytes before its row: bytes without a row may be an upload in progress.
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?>
        {
            ["Parley:Blobs:OrphanSweepSeconds"] = "0",
            ["Parley:Blobs:OrphanGraceSeconds"] = "3600",
        });
        var young = "media_" + Guid.NewGuid().ToString("N");
        await server.Services.GetRequiredService<IBlobStore>().PutAsync(young, Png, "image/png");
        var writing = AbandonedWrite(server);
        var sweep = server.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<OrphanBlobSweep>().Single();

        Assert.Equal(0, await sweep.SweepAsync(CancellationToken.None));
        Assert.Equal(Png, await StoredBytesAsync(server, young));
        Assert.True(writing is null || File.Exists(writing), "a young temporary file (a write that may be in progress) was deleted");
    }

    /// <summary>A temporary file as the directory blob store writes before its rename (null when the
    /// server's blob store is S3, whose puts leave nothing half-written).</summary>
    private static string? AbandonedWrite(ParleyServer server)
    {
        if (server.Services.GetRequiredService<IBlobStore>() is not DirectoryBlobStore) return null;
        var key = "media_" + Guid.NewGuid().ToString("N");
        var directory = Path.Combine(server.DataDirectory, "blobs", key[^2..]);
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, key + "." + Guid.NewGuid().ToString("N") + ".tmp");
        File.WriteAllBytes(path, Png[..10]);
        return path;
    }
}
