using System.Collections.Concurrent;
using System.Net;
using Parley.Testing;
using Parley.Tests.Infrastructure;
using Parley.Tests.Cluster;

namespace Parley.Tests.Operations;

/// <summary><c>dotnet Parley.Server.dll backup &lt;file&gt;</c> against a server that keeps taking writes.</summary>
public sealed class BackupTests
{
    private static readonly byte[] Photo = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 8, 8, 8];

    private static Task<(int ExitCode, string Output)> RunServerCommandAsync(params string[] args) => NodeProcess.RunCommandAsync(null, args);

    [Fact]
    public async Task A_backup_taken_during_a_stream_of_sends_restores_every_message_acknowledged_before_it_began()
    {
        var file = Path.Combine(Path.GetTempPath(), "parley-tests", Guid.NewGuid().ToString("N") + ".db");
        string photoId;
        if (TestBackend.Store != TestStore.Sqlite)
        {
            // PostgreSQL and DynamoDB are backed up with their own tools; the command says so instead of copying anything.
            await using var other = await ParleyServer.StartAsync();
            var postgres = TestBackend.Store == TestStore.Postgres;
            var (code, text) = await RunServerCommandAsync("backup", file, postgres ? "--Parley:Storage:Provider=Postgres" : "--Parley:Storage:Provider=DynamoDb");
            Assert.NotEqual(0, code);
            Assert.Contains(postgres ? "pg_dump" : "point-in-time recovery", text);
            Assert.False(File.Exists(file));
            return;
        }

        await using var server = await ParleyServer.StartAsync();
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        // A photo: its bytes are in the blob directory, not in the database.
        using (var upload = new HttpRequestMessage(HttpMethod.Post, "/media") { Content = new ByteArrayContent(Photo) })
        {
            upload.Content.Headers.TryAddWithoutValidation("Content-Type", "image/png");
            var uploaded = await ann.Api.SendAsync(upload);
            uploaded.AssertStatus(HttpStatusCode.Created, "upload");
            photoId = uploaded.Json.Str("mediaId")!;
        }
        (await ann.Api.PostAsync($"/chats/{chatId}/messages", new { type = "image", content = "a photo", media = new { mediaId = photoId } }))
            .AssertStatus(HttpStatusCode.Created, "send photo");
        var acknowledged = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        var sender = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var sent = await ann.SendTextAsync(chatId, $"stream {i}");
                acknowledged.Enqueue(sent.Str("id")!);
            }
        });
        while (acknowledged.Count < 20) await Task.Delay(20);

        var before = acknowledged.ToArray();
        var (exitCode, output) = await RunServerCommandAsync("backup", file, $"--Parley:DataDirectory={server.DataDirectory}");
        Assert.True(exitCode == 0, output);
        Assert.Contains("Backed up", output);
        Assert.Contains("media files", output);
        Assert.True(File.Exists(Path.Combine(file + ".blobs", photoId[^2..], photoId)), output);
        // The server took writes all along.
        var atEnd = acknowledged.Count;
        while (acknowledged.Count < atEnd + 10) await Task.Delay(20);
        await stop.CancelAsync();
        await sender;
        var again = await RunServerCommandAsync("backup", file, $"--Parley:DataDirectory={server.DataDirectory}");
        Assert.NotEqual(0, again.ExitCode);
        Assert.Contains("exists", again.Output);
        await server.StopAsync();

        // Restoring is starting a server on the copy.
        var restoredDirectory = Path.Combine(Path.GetTempPath(), "parley-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(restoredDirectory);
        File.Move(file, Path.Combine(restoredDirectory, "parley.db"));
        Directory.Move(file + ".blobs", Path.Combine(restoredDirectory, "blobs"));
        try
        {
            await using var restored = await ParleyServer.StartAsync(dataDirectory: restoredDirectory);
            var annThere = ann with { Api = restored.Api(ann.AccessToken) };
            var bobThere = bob with { Api = restored.Api(bob.AccessToken) };
            var history = await bobThere.MessagesOldestFirstAsync(chatId);
            var ids = history.Select(m => m.Str("id")).ToHashSet();
            Assert.All(before, id => Assert.Contains(id, ids));
            Assert.Equal(Enumerable.Range(1, history.Count).Select(n => (long)n), history.Select(m => m.Long("seq")));

            // It serves and resumes: the next message takes the next seq and reaches Bob live.
            await using var bobSocket = await bobThere.ConnectAsync(restored);
            var next = await annThere.SendTextAsync(chatId, "after the restore");
            Assert.Equal(history.Count + 1, next.Long("seq"));
            await bobSocket.WaitForMessageAsync(chatId, "after the restore");
            // The photo, from the restored blob directory.
            using var photoRequest = new HttpRequestMessage(HttpMethod.Get, $"/media/{photoId}");
            photoRequest.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bob.AccessToken);
            using var photo = await bobThere.Api.Http.SendAsync(photoRequest);
            Assert.Equal(HttpStatusCode.OK, photo.StatusCode);
            Assert.Equal(Photo, await photo.Content.ReadAsByteArrayAsync());
            var login = await restored.Api().PostAsync("/auth/login", new { email = ann.Email, password = ann.Password });
            login.AssertStatus(HttpStatusCode.OK, "sign in on the restored server");
        }
        finally
        {
            try { Directory.Delete(restoredDirectory, recursive: true); } catch (IOException) { /* best effort */ }
        }
    }
}
