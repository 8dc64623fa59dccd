using System.Net;
using Parley.Testing;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Messages;

/// <summary>What the store promises outlives the process: stop the server, start a new one on the
/// same data directory, and carry on with the same users, tokens, cursors and retries.</summary>
public sealed class RestartTests : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "parley-tests", "restart-" + Guid.NewGuid().ToString("N"));

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await TestBackend.ReleaseAsync(_dataDirectory);
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (IOException) { /* best effort */ }
    }

    private static TestUser On(ParleyServer server, TestUser user) =>
        user with { Api = server.Api(user.AccessToken) };

    [Fact]
    public async Task History_seq_unread_counts_cursors_and_retries_survive_a_restart()
    {
        TestUser alice, bob;
        string chatId, bobCursor, firstId;
        await using (var before = await ParleyServer.StartAsync(dataDirectory: _dataDirectory))
        {
            alice = await ApiClient.CreateUserAsync(before, "Alice");
            bob = await ApiClient.CreateUserAsync(before, "Bob");
            chatId = await alice.OpenChatWithAsync(bob);
            firstId = (await alice.SendTextAsync(chatId, "before the restart", "keep-1")).Str("id")!;
            await alice.SendTextAsync(chatId, "also before");
            bobCursor = await bob.CurrentCursorAsync();
            await before.StopAsync();
        }

        await using var after = await ParleyServer.StartAsync(dataDirectory: _dataDirectory);
        alice = On(after, alice);
        bob = On(after, bob);

        // The same history, and seq carries on where it stopped.
        Assert.Equal(["also before", "before the restart"], (await bob.HistoryAsync(chatId)).Select(m => m.Field("content")).ToArray());
        var third = await alice.SendTextAsync(chatId, "after the restart");
        Assert.Equal(3, third.Long("seq"));
        Assert.Equal(3, (await bob.ChatAsync(chatId)).Long("unreadCount"));

        // A retry from before the restart still finds the original.
        var retry = await alice.Api.PostAsync($"/chats/{chatId}/messages", new { content = "before the restart", clientMessageId = "keep-1" });
        Assert.True(retry.Status is HttpStatusCode.OK or HttpStatusCode.Created, $"retry answered {(int)retry.Status} {retry.Json}");
        Assert.Equal(firstId, retry.Json.Str("id"));
        Assert.Equal(3, (await bob.HistoryAsync(chatId)).Count);

        // A cursor handed out before the restart still resumes, over REST and over the socket.
        var sync = await bob.SyncAllAsync(bobCursor);
        Assert.Equal(["after the restart"], sync.Events.Where(e => e.Str("type") == "message")
            .Select(e => e.GetProperty("data").Field("content")).ToArray());
        await using var socket = await WsClient.ConnectAsync(after, bob.AccessToken, since: bobCursor, name: "bob");
        var missed = await socket.WaitForTypeAsync("message");
        Assert.Equal("after the restart", missed.Str("content"));
        await socket.ExpectNothingAsync(f => f.Type == "message", what: "a message from before the cursor");
    }
}
