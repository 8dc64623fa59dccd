using System.Globalization;
using Amazon.DynamoDBv2.Model;
using Parley.Server.Storage.DynamoDb;
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
        var key = new Dictionary<string, AttributeValue> { ["chatId"] = new() { S = chatId } };
        var chat = (await ServerDynamo.GetAsync(server, DynamoTables.Chats, key))!;
        long Number(string name) => chat.TryGetValue(name, out var value) ? long.Parse(value.N, CultureInfo.InvariantCulture) : 0;
        static AttributeValue N(long value) => new() { N = value.ToString(CultureInfo.InvariantCulture) };
        Assert.Equal(4, Number("lastSeq"));
        chat["basePos"] = N(Number("lastPos"));
        chat["baseSeq"] = N(4);
        chat["lastPos"] = N(Number("lastPos") + 10);
        chat["lastSeq"] = N(5);
        chat["claimAt"] = N(DateTimeOffset.UtcNow.AddSeconds(-30).ToUnixTimeMilliseconds());
        chat["sent_" + ann.Id] = N(Number("sent_" + ann.Id) + 1);
        chat["claimSenders"] = new AttributeValue { S = ann.Id };
        await ServerDynamo.PutAsync(server, DynamoTables.Chats, chat);

        var sent = await ann.SendTextAsync(chatId, "a1");
        Assert.Equal(5, sent.Long("seq"));
        // Ann has b3 and b4 to read; Bob has Ann's one message.
        Assert.Equal(2, (await ann.ChatAsync(chatId)).Long("unreadCount"));
        Assert.Equal(1, (await bob.ChatAsync(chatId)).Long("unreadCount"));
        Assert.Equal(["b1", "b2", "b3", "b4", "a1"], (await ann.HistoryAsync(chatId)).Select(m => m.Str("content")!).Reverse());
    }
}
