using System.Net;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Chats;

/// <summary>Every REST endpoint and WebSocket frame that takes a chat or message id answers a
/// non-member exactly as it answers an id that does not exist: 404 (or an error frame), no content.</summary>
public sealed class NonMemberAccessTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private const string Secret = "the launch code is 0000";
    private const string GroupName = "Secret Society";
    private ParleyServer Server => shared.Server;

    private sealed record Scene(TestUser Alice, TestUser Bob, TestUser Mallory, string ChatId, string GroupId, string MessageId, string GroupMessageId);

    private async Task<Scene> SetUpAsync()
    {
        var alice = await ApiClient.CreateUserAsync(Server, "Alice");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var mallory = await ApiClient.CreateUserAsync(Server, "Mallory");
        var chatId = await alice.OpenChatWithAsync(bob);
        var message = await alice.SendTextAsync(chatId, Secret);
        var groupId = await alice.CreateGroupAsync(GroupName, bob);
        var groupMessage = await alice.SendTextAsync(groupId, Secret);
        return new Scene(alice, bob, mallory, chatId, groupId, message.Str("id")!, groupMessage.Str("id")!);
    }

    [Theory]
    [InlineData("GET", "/chats/{chat}")]
    [InlineData("GET", "/chats/{chat}/messages")]
    [InlineData("POST", "/chats/{chat}/messages")]
    [InlineData("POST", "/chats/{chat}/read")]
    [InlineData("GET", "/chats/{group}")]
    [InlineData("GET", "/chats/{group}/messages")]
    [InlineData("POST", "/chats/{group}/messages")]
    [InlineData("POST", "/chats/{group}/read")]
    [InlineData("GET", "/messages/{message}/receipts")]
    [InlineData("PUT", "/messages/{message}/status")]
    [InlineData("GET", "/messages/{groupMessage}/receipts")]
    [InlineData("PUT", "/messages/{groupMessage}/status")]
    [InlineData("POST", "/groups/{group}/members")]
    [InlineData("DELETE", "/groups/{group}/members/{bob}")]
    [InlineData("PUT", "/groups/{group}/info")]
    [InlineData("POST", "/groups/{group}/admins/{mallory}")]
    [InlineData("DELETE", "/groups/{group}/admins/{alice}")]
    public async Task A_non_member_gets_the_same_404_as_for_an_id_that_does_not_exist(string method, string template)
    {
        var scene = await SetUpAsync();
        object? body = method switch
        {
            "POST" when template.EndsWith("/messages", StringComparison.Ordinal) => new { content = "hello from outside" },
            "POST" when template.EndsWith("/members", StringComparison.Ordinal) => new { memberIds = new[] { scene.Mallory.Id } },
            "POST" when template.EndsWith("/read", StringComparison.Ordinal) => new { },
            "PUT" when template.EndsWith("/status", StringComparison.Ordinal) => new { status = "read" },
            "PUT" when template.EndsWith("/info", StringComparison.Ordinal) => new { name = "taken over" },
            _ => null,
        };
        string Fill(string chat, string group, string message, string groupMessage) => template
            .Replace("{chat}", chat).Replace("{group}", group).Replace("{message}", message).Replace("{groupMessage}", groupMessage)
            .Replace("{bob}", scene.Bob.Id).Replace("{alice}", scene.Alice.Id).Replace("{mallory}", scene.Mallory.Id);

        var real = await scene.Mallory.Api.SendAsync(new HttpMethod(method), Fill(scene.ChatId, scene.GroupId, scene.MessageId, scene.GroupMessageId), body);
        var fake = await scene.Mallory.Api.SendAsync(new HttpMethod(method),
            Fill(ChatHelpers.DirectChatId(Guid.NewGuid().ToString(), Guid.NewGuid().ToString()), "group_1700000000000_abcdef",
                "msg_" + Guid.NewGuid(), "msg_" + Guid.NewGuid()), body);

        real.AssertStatus(HttpStatusCode.NotFound, $"{method} {template} as a non-member");
        fake.AssertStatus(HttpStatusCode.NotFound, $"{method} {template} with an unknown id");
        Assert.NotNull(real.Error);
        Assert.Equal(fake.Error, real.Error);
        var text = real.Json.ValueKind == default ? "" : real.Json.GetRawText();
        Assert.DoesNotContain(Secret, text);
        Assert.DoesNotContain(GroupName, text);

        await AssertNothingChangedAsync(scene);
    }

    [Fact]
    public async Task Frames_naming_a_chat_or_message_of_others_get_an_error_frame_and_change_nothing()
    {
        var scene = await SetUpAsync();
        await using var alice = await scene.Alice.ConnectAsync(Server);
        await using var bob = await scene.Bob.ConnectAsync(Server);
        await using var mallory = await scene.Mallory.ConnectAsync(Server);

        object[] frames =
        [
            new { action = "sendMessage", chatId = scene.ChatId, content = "sneaky", clientMessageId = "m1" },
            new { action = "sendMessage", chatId = scene.GroupId, content = "sneaky", clientMessageId = "m2" },
            new { action = "typing", chatId = scene.ChatId, isTyping = true },
            new { action = "typing", chatId = scene.GroupId, isTyping = true },
            new { action = "updateStatus", messageId = scene.MessageId, status = "read" },
            new { action = "updateStatus", messageId = scene.GroupMessageId, status = "delivered" },
            new { action = "markRead", chatId = scene.ChatId, messageId = scene.MessageId },
            new { action = "markRead", chatId = scene.GroupId, messageId = scene.GroupMessageId },
        ];
        foreach (var frame in frames)
        {
            await mallory.SendAsync(frame);
            var error = await mallory.WaitForErrorAsync();
            Assert.False(string.IsNullOrEmpty(error.Str("error")), $"error frame without a sentence: {error}");
            Assert.DoesNotContain(Secret, error.Text);
            Assert.DoesNotContain(GroupName, error.Text);
            await mallory.ExpectNothingAsync(f => f.Type == "ack", TimeSpan.Zero, "an ack for a refused frame");
        }
        await mallory.AssertAliveAsync();

        bool FromMallory(WsFrame f) => f.Str("senderId") == scene.Mallory.Id || f.Str("userId") == scene.Mallory.Id;
        await alice.ExpectNothingAsync(FromMallory, what: "a frame caused by the non-member");
        await bob.ExpectNothingAsync(FromMallory, TimeSpan.Zero, "a frame caused by the non-member");
        await AssertNothingChangedAsync(scene);

        // Traffic in the chats never reaches the non-member.
        await scene.Bob.SendTextAsync(scene.ChatId, "private reply");
        await scene.Bob.SendTextAsync(scene.GroupId, "private group reply");
        await alice.WaitForMessageAsync(scene.GroupId, "private group reply");
        await mallory.ExpectNothingAsync(f => f.Type != "pong" && f.Type != "error",
            what: "any frame about chats she is not in");
        var since = await scene.Mallory.CurrentCursorAsync();
        Assert.Empty((await scene.Mallory.SyncAllAsync(since)).Events);
    }

    private async Task AssertNothingChangedAsync(Scene scene)
    {
        var direct = await scene.Alice.HistoryAsync(scene.ChatId);
        Assert.Equal([Secret], direct.Select(m => m.Field("content")).ToArray());
        var group = await scene.Alice.ChatAsync(scene.GroupId);
        Assert.Equal(GroupName, group.Str("groupName"));
        Assert.Equal(new[] { scene.Alice.Id, scene.Bob.Id }.Order(StringComparer.Ordinal), group.Strings("members").Order(StringComparer.Ordinal));
        Assert.Equal([scene.Alice.Id], group.Strings("admins"));
        Assert.DoesNotContain((await scene.Alice.HistoryAsync(scene.GroupId)), m => m.Str("senderId") == scene.Mallory.Id);
        Assert.Equal(1, (await scene.Bob.ChatAsync(scene.ChatId)).Long("unreadCount"));
        Assert.Empty(await scene.Mallory.ChatListAsync());
        var receipts = await scene.Alice.Api.GetAsync($"/messages/{scene.MessageId}/receipts");
        receipts.AssertStatus(HttpStatusCode.OK, "GET receipts as the sender");
        Assert.DoesNotContain(receipts.Json.EnumerateArray(), r => r.Str("userId") == scene.Mallory.Id);
        Assert.All(receipts.Json.EnumerateArray(), r => Assert.Equal("sent", r.Str("status")));
    }
}
