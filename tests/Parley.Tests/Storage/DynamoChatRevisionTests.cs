using System.Globalization;
using System.Text.Json;
using Amazon.DynamoDBv2.Model;
using Parley.Server.Storage.DynamoDb;
using Parley.Testing;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Storage;

/// <summary>
/// A DynamoDB chat write stores only over the chat item as it read it: one that read the chat
/// before another node's write (even a write that took no position, as a deleted account's
/// renaming of the chat does) starts again from a fresh read, and so reads its sender's name again.
/// </summary>
public sealed class DynamoChatRevisionTests : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "parley-tests", Guid.NewGuid().ToString("N"));
    private DynamoInterceptor? _interceptor;
    private ParleyServer? _server;

    public async Task InitializeAsync()
    {
        if (TestDynamo.SkipReason is not null) return;
        _interceptor = await DynamoInterceptor.StartAsync();
        var settings = TestDynamo.Settings(await TestDynamo.PrefixForAsync(_dataDirectory));
        settings["Parley:Storage:DynamoDb:ServiceUrl"] = _interceptor.Url;
        _server = await ParleyServer.StartAsync(settings, _dataDirectory);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        if (_interceptor is not null) await _interceptor.DisposeAsync();
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (IOException) { /* best effort */ }
    }

    [DynamoFact]
    public async Task A_send_whose_chat_the_senders_deletion_wrote_after_the_send_read_it_stores_Deleted_account()
    {
        var server = _server!;
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var quill = await ApiClient.CreateUserAsync(server, "Bartholomew Quill");
        var direct = await ann.OpenChatWithAsync(quill);
        await quill.SendTextAsync(direct, "before");

        var acted = 0;
        _interceptor!.Before = async (operation, request) =>
        {
            if (operation != "UpdateItem" || request.GetProperty("TableName").GetString()?.EndsWith(DynamoTables.Chats, StringComparison.Ordinal) != true
                || Interlocked.Exchange(ref acted, 1) == 1) return;
            // The send has read the chat item and is about to store over it. Meanwhile, on another
            // node, Quill's account is anonymized and its deletion's renaming writes this chat.
            var user = (await ServerDynamo.GetAsync(server, DynamoTables.Users, UserItems.Key(quill.Id)))!;
            user["name"] = new AttributeValue { S = "Deleted account" };
            user["deletedAt"] = new AttributeValue { N = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) };
            await ServerDynamo.PutAsync(server, DynamoTables.Users, user);
            var chat = (await ServerDynamo.GetAsync(server, DynamoTables.Chats, Item.Key("chatId", direct)))!;
            chat[ChatItems.Revision] = new AttributeValue { N = "42" };
            chat["namesLeftAt"] = user["deletedAt"];
            await ServerDynamo.PutAsync(server, DynamoTables.Chats, chat);
        };
        var sent = await quill.SendTextAsync(direct, "in flight");
        _interceptor.Before = null;

        Assert.Equal(1, acted);
        Assert.Equal("Deleted account", sent.Str("senderName"));
        var stored = (await ann.HistoryAsync(direct)).Single(m => m.Str("content") == "in flight");
        Assert.Equal(("Deleted account", 2L), (stored.Str("senderName"), stored.Long("seq")));
    }
}
