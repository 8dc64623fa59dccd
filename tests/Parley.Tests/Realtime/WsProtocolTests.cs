using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Realtime;

public sealed class WsProtocolTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    [Theory]
    [InlineData("this is not json")]
    [InlineData("")]
    [InlineData("{\"action\":")]
    [InlineData("[1,2,3]")]
    [InlineData("\"sendMessage\"")]
    [InlineData("{}")]
    [InlineData("{\"action\":\"launchRockets\"}")]
    [InlineData("{\"action\":42}")]
    [InlineData("{\"action\":\"sendMessage\"}")]
    [InlineData("{\"action\":\"sendMessage\",\"content\":\"no chat\"}")]
    [InlineData("{\"action\":\"sendMessage\",\"chatId\":\"{chat}\"}")]
    [InlineData("{\"action\":\"sendMessage\",\"chatId\":\"{chat}\",\"content\":\"\"}")]
    [InlineData("{\"action\":\"sendMessage\",\"chatId\":\"{chat}\",\"content\":7}")]
    [InlineData("{\"action\":\"typing\"}")]
    [InlineData("{\"action\":\"updateStatus\",\"status\":\"read\"}")]
    [InlineData("{\"action\":\"updateStatus\",\"messageId\":\"{message}\",\"status\":\"bogus\"}")]
    [InlineData("{\"action\":\"markRead\"}")]
    public async Task A_malformed_frame_gets_an_error_frame_and_the_connection_stays_open(string frame)
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        var messageId = (await bob.SendTextAsync(chatId, "hello")).Str("id")!;
        await using var socket = await alice.ConnectAsync(Server);

        await socket.SendTextAsync(frame.Replace("{chat}", chatId).Replace("{message}", messageId));
        var error = await socket.WaitForErrorAsync();
        Assert.False(string.IsNullOrWhiteSpace(error.Str("error")), $"the error frame has no sentence: {error}");
        Assert.True(error.Data.TryGetProperty("code", out var code) && code.ValueKind is JsonValueKind.String or JsonValueKind.Number,
            $"the error frame has no code: {error}");

        // Still open and still working.
        await socket.AssertAliveAsync();
        await socket.SendAsync(new { action = "sendMessage", chatId, content = "still here", clientMessageId = "after-error" });
        await socket.WaitForAckAsync("after-error");
        Assert.Equal(["still here", "hello"], (await alice.HistoryAsync(chatId)).Select(m => m.Field("content")).ToArray());
        Assert.Null(socket.CloseStatus);
    }

    [Theory]
    [InlineData("{\"action\":\"sendMessage\",\"chatId\":\"{chat}\",\"content\":\"lone \\ud800 surrogate\"}", "not valid Unicode")]
    [InlineData("{\"action\":\"\\ud800\"}", "not valid Unicode")]
    [InlineData("{\"action\":\"typing\",\"chatId\":\"\\udc00\"}", "not valid Unicode")]
    [InlineData("{\"action\":\"markRead\",\"chatId\":\"\\ud800\"}", "not valid Unicode")]
    [InlineData("{\"action\":\"updateStatus\",\"messageId\":\"\\ud800\",\"status\":\"read\"}", "not valid Unicode")]
    [InlineData("{\"action\":\"sendMessage\",\"\\udc00x\":1,\"chatId\":\"{chat}\",\"content\":\"k\"}", "not valid Unicode")]
    [InlineData("{\"action\":\"typing\",\"chatId\":\"{chat}\",\"isTyping\":\"false\"}", "isTyping must be true or false.")]
    [InlineData("{\"action\":\"typing\",\"chatId\":\"{chat}\",\"isTyping\":0}", "isTyping must be true or false.")]
    [InlineData("{\"action\":\"typing\",\"chatId\":5}", "chatId must be a string.")]
    [InlineData("{\"action\":\"markRead\",\"chatId\":5}", "chatId must be a string.")]
    [InlineData("{\"action\":\"updateStatus\",\"messageId\":5,\"status\":\"read\"}", "messageId must be a string.")]
    public async Task A_frame_with_text_that_is_not_Unicode_or_a_mistyped_member_is_a_bad_request_and_the_socket_goes_on(string frame, string sentence)
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        await using var socket = await alice.ConnectAsync(Server);
        var logsBefore = Server.Logs.Count;

        await socket.SendTextAsync(frame.Replace("{chat}", chatId));
        var error = await socket.WaitForErrorAsync();
        Assert.Equal("bad_request", error.Str("code"));
        Assert.Contains(sentence, error.Str("error"));

        await socket.SendAsync(new { action = "sendMessage", chatId, content = "still here", clientMessageId = "after-error" });
        await socket.WaitForAckAsync("after-error");
        Assert.Equal(["still here"], (await alice.HistoryAsync(chatId)).Select(m => m.Field("content")).ToArray());
        Server.AssertNoErrorLoggedSince(logsBefore);
    }

    /// <summary>Parsers disagree on which copy of a repeated member counts, so such a frame has no
    /// single meaning: it is refused whole, whatever the repeated member.</summary>
    [Theory]
    [InlineData("{\"action\":\"sendMessage\",\"chatId\":\"{chat}\",\"content\":\"first\",\"content\":\"second\",\"clientMessageId\":\"twice\"}")]
    [InlineData("{\"action\":\"ping\",\"action\":\"sendMessage\",\"chatId\":\"{chat}\",\"content\":\"hidden\",\"clientMessageId\":\"twice\"}")]
    [InlineData("{\"action\":\"sendMessage\",\"chatId\":\"{chat}\",\"chatId\":\"{chat}\",\"content\":\"same twice\",\"clientMessageId\":\"twice\"}")]
    [InlineData("{\"action\":\"markRead\",\"chatId\":\"{chat}\",\"messageId\":\"msg_x\",\"messageId\":null}")]
    public async Task A_frame_that_names_a_member_twice_is_refused_and_stores_or_marks_nothing(string frame)
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        await bob.SendTextAsync(chatId, "unread");
        await using var socket = await alice.ConnectAsync(Server);
        var logsBefore = Server.Logs.Count;

        await socket.SendTextAsync(frame.Replace("{chat}", chatId));
        var error = await socket.WaitForErrorAsync();
        Assert.Equal("bad_request", error.Str("code"));
        Assert.Contains("more than once", error.Str("error"));

        await socket.SendAsync(new { action = "sendMessage", chatId, content = "still here", clientMessageId = "after-error" });
        await socket.WaitForAckAsync("after-error");
        Assert.Equal(["still here", "unread"], (await alice.HistoryAsync(chatId)).Select(m => m.Field("content")).ToArray());
        Assert.Equal(1, (await alice.ChatAsync(chatId)).Long("unreadCount"));
        Server.AssertNoErrorLoggedSince(logsBefore);
    }

    [Fact]
    public async Task MarkRead_with_a_message_id_that_is_not_a_string_is_refused_and_marks_nothing_read()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        await bob.SendTextAsync(chatId, "one");
        await bob.SendTextAsync(chatId, "two");
        await using var socket = await alice.ConnectAsync(Server);

        await socket.SendTextAsync($"{{\"action\":\"markRead\",\"chatId\":\"{chatId}\",\"messageId\":5}}");
        var error = await socket.WaitForErrorAsync();

        Assert.Equal("bad_request", error.Str("code"));
        Assert.Equal("messageId must be a string.", error.Str("error"));
        Assert.Equal(2, (await alice.ChatAsync(chatId)).Long("unreadCount"));
        await socket.SendAsync(new { action = "markRead", chatId });
        await socket.AssertAliveAsync();
        Assert.Equal(0, (await alice.ChatAsync(chatId)).Long("unreadCount"));
    }

    [Fact]
    public async Task Content_over_4096_characters_gets_an_error_frame_naming_the_client_message_id()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        await using var socket = await alice.ConnectAsync(Server);

        await socket.SendAsync(new { action = "sendMessage", chatId, content = new string('x', 4097), clientMessageId = "too-long" });
        var error = await socket.WaitForErrorAsync();
        Assert.Equal("too-long", error.Str("clientMessageId"));
        await socket.ExpectNothingAsync(f => f.Type == "ack", TimeSpan.Zero, "an ack for the refused message");

        await socket.SendAsync(new { action = "sendMessage", chatId, content = new string('x', 4096), clientMessageId = "just-fits" });
        await socket.WaitForAckAsync("just-fits");
        var stored = Assert.Single(await bob.HistoryAsync(chatId));
        Assert.Equal(4096, stored.Str("content")!.Length);
    }

    [Fact]
    public async Task A_frame_over_64_KiB_closes_the_connection_with_1009()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        await using var socket = await alice.ConnectAsync(Server);

        var huge = JsonSerializer.Serialize(new { action = "sendMessage", chatId, content = new string('z', 70 * 1024), clientMessageId = "huge" });
        try
        {
            await socket.SendTextAsync(huge);
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException)
        {
            // The server may close while the frame is still going out; the close code below is what counts.
        }
        await socket.WaitForEndAsync();
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, socket.CloseStatus);
        Assert.Empty(await bob.HistoryAsync(chatId));

        // The user can connect again afterwards.
        await using var again = await alice.ConnectAsync(Server);
        await again.AssertAliveAsync();
    }

    [Fact]
    public async Task A_frame_just_under_64_KiB_is_read_whole()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        await using var socket = await alice.ConnectAsync(Server);

        // The longest content plus a field the server ignores: about 60 KiB on the wire, in one frame.
        var content = new string('q', 4096);
        var frame = JsonSerializer.Serialize(new { action = "sendMessage", chatId, content, clientMessageId = "big-but-fine", padding = new string('p', 56 * 1024) });
        Assert.InRange(Encoding.UTF8.GetByteCount(frame), 60 * 1024, 63 * 1024);
        await socket.SendTextAsync(frame);
        await socket.WaitForAckAsync("big-but-fine");
        Assert.Equal(content, Assert.Single(await bob.HistoryAsync(chatId)).Str("content"));
    }

    [Fact]
    public async Task Ping_is_answered_with_pong()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        await using var socket = await alice.ConnectAsync(Server);
        for (var i = 0; i < 3; i++)
        {
            await socket.SendAsync(new { action = "ping" });
            await socket.WaitForTypeAsync("pong");
        }
    }
}
