using Parley.Testing;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Storage;

/// <summary>
/// A node killed between taking a 1:1 message's position (the chat item counts the message for its
/// sender there) and storing the message leaves the position empty: the chat's next writer voids it
/// and gives back both the seq and the sender's count, so seqs keep no gap and unread counts stay exact.
/// </summary>
public sealed class DynamoCutShortSendTests : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "parley-tests", Guid.NewGuid().ToString("N"));
    private ParleyServer? _server;

    public async Task InitializeAsync()
    {
        if (TestDynamo.SkipReason is not null) return;
        _server = await ParleyServer.StartAsync(TestDynamo.Settings(await TestDynamo.PrefixForAsync(_dataDirectory)), _dataDirectory);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (IOException) { /* best effort */ }
    }

    [DynamoFact]
    public async Task A_voided_message_gives_back_its_seq_and_its_senders_count()
    {
        var server = _server!;
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        await bob.SendTextAsync(chatId, "b1");
        await bob.SendTextAsync(chatId, "b2");
        (await ann.Api.PostAsync($"/chats/{chatId}/read", new { })).AssertStatus(System.Net.HttpStatusCode.NoContent, "Ann reads");
        await bob.SendTextAsync(chatId, "b3");
        await bob.SendTextAsync(chatId, "b4");

        // Ann's send took seq 5 and counted itself, 30 s ago, and its node died before storing it.
        var claimed = await ServerDynamo.ClaimPositionAsync(server, chatId, ann.Id, positions: 10, DateTimeOffset.UtcNow.AddSeconds(-30));
        Assert.Equal(4, claimed.LastSeq);

        var sent = await ann.SendTextAsync(chatId, "a1");
        Assert.Equal(5, sent.Long("seq"));
        // Ann has b3 and b4 to read; Bob has Ann's one message.
        Assert.Equal(2, (await ann.ChatAsync(chatId)).Long("unreadCount"));
        Assert.Equal(1, (await bob.ChatAsync(chatId)).Long("unreadCount"));
        Assert.Equal(["b1", "b2", "b3", "b4", "a1"], (await ann.HistoryAsync(chatId)).Select(m => m.Str("content")!).Reverse());
    }
}
