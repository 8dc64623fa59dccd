using Parley.Tests.Infrastructure;

namespace Parley.Tests.Realtime;

/// <summary>A frame whose text is not valid Unicode (an escaped lone surrogate) is refused whole,
/// but its error frame still names the send by its <c>clientMessageId</c> when that id is itself a
/// valid string, so a client with several sends in flight knows which one to fix.</summary>
public sealed class UnicodeErrorIdTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    [Fact]
    public async Task Among_pipelined_sends_the_one_with_a_lone_surrogate_is_answered_by_its_client_message_id()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        await using var socket = await alice.ConnectAsync(Server);
        var logsBefore = Server.Logs.Count;

        await socket.SendAsync(new { action = "sendMessage", chatId, content = "first", clientMessageId = "c1" });
        await socket.SendTextAsync($"{{\"action\":\"sendMessage\",\"chatId\":\"{chatId}\",\"content\":\"lone \\ud800 surrogate\",\"clientMessageId\":\"c2\"}}");
        await socket.SendAsync(new { action = "sendMessage", chatId, content = "third", clientMessageId = "c3" });

        var answers = new List<WsFrame>();
        for (var n = 0; n < 3; n++) answers.Add(await socket.WaitForAsync(f => f.Type is "ack" or "error", what: $"answer {n + 1} of 3"));

        Assert.Equal(["ack c1", "error c2", "ack c3"], answers.Select(f => $"{f.Type} {f.Str("clientMessageId")}"));
        Assert.Equal("bad_request", answers[1].Str("code"));
        Assert.Contains("not valid Unicode", answers[1].Str("error"));
        Assert.Equal(["third", "first"], (await alice.HistoryAsync(chatId)).Select(m => m.Field("content")).ToArray());
        Server.AssertNoErrorLoggedSince(logsBefore);
    }

    [Theory]
    // The bad text is in a member name; the id is escaped but valid.
    [InlineData("{\"action\":\"sendMessage\",\"\\udc00x\":1,\"chatId\":\"{chat}\",\"content\":\"k\",\"clientMessageId\":\"id-\\u00e9\"}", "id-\u00e9")]
    // The id comes before the bad text, inside a nested object.
    [InlineData("{\"clientMessageId\":\"early\",\"action\":\"sendMessage\",\"chatId\":\"{chat}\",\"media\":{\"fileName\":\"\\ud800\"}}", "early")]
    // A nested clientMessageId is not the frame's.
    [InlineData("{\"action\":\"sendMessage\",\"chatId\":\"{chat}\",\"media\":{\"clientMessageId\":\"inner\"},\"content\":\"\\ud800\"}", null)]
    // The id itself is the bad text, or is not a string: there is none to give back.
    [InlineData("{\"action\":\"sendMessage\",\"chatId\":\"{chat}\",\"content\":\"k\",\"clientMessageId\":\"x\\ud800\"}", null)]
    [InlineData("{\"action\":\"sendMessage\",\"chatId\":\"{chat}\",\"content\":\"\\ud800\",\"clientMessageId\":7}", null)]
    [InlineData("{\"action\":\"sendMessage\",\"chatId\":\"{chat}\",\"content\":\"\\ud800\",\"clientMessageId\":null}", null)]
    public async Task The_error_frame_carries_the_client_message_id_only_when_it_is_a_valid_top_level_string(string frame, string? expected)
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        await using var socket = await alice.ConnectAsync(Server);
        var logsBefore = Server.Logs.Count;

        await socket.SendTextAsync(frame.Replace("{chat}", chatId));
        var error = await socket.WaitForErrorAsync();

        Assert.Equal("bad_request", error.Str("code"));
        Assert.Contains("not valid Unicode", error.Str("error"));
        Assert.Equal(expected, error.Data.TryGetProperty("clientMessageId", out var id) ? id.GetString() : null);
        await socket.AssertAliveAsync();
        Assert.Empty(await alice.HistoryAsync(chatId));
        Server.AssertNoErrorLoggedSince(logsBefore);
    }
}
