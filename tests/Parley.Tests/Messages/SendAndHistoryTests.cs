using System.Net;
using System.Text.Json;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Messages;

public sealed class SendAndHistoryTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    [Fact]
    public async Task Sending_over_rest_answers_201_with_the_whole_message()
    {
        var alice = await ApiClient.CreateUserAsync(Server, "Alice Smith");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var chatId = await alice.OpenChatWithAsync(bob);
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        var response = await alice.Api.PostAsync($"/chats/{chatId}/messages", new { content = "Hello, Bob", clientMessageId = "c-1" });
        response.AssertStatus(HttpStatusCode.Created, "POST message");
        var message = response.Json;
        var id = message.Str("id");
        Assert.StartsWith("msg_", id);
        Assert.Equal(id, message.Str("messageId"));
        Assert.Equal(chatId, message.Str("chatId"));
        Assert.Equal(1, message.Long("seq"));
        Assert.Equal(alice.Id, message.Str("senderId"));
        Assert.Equal("Alice Smith", message.Str("senderName"));
        Assert.Equal("AS", message.Str("senderAvatar"));
        Assert.Equal("Hello, Bob", message.Str("content"));
        Assert.Equal("sent", message.Str("status"));
        Assert.Equal("text", message.Str("type"));
        Assert.Equal("c-1", message.Str("clientMessageId"));
        // The clock is the server's; this only checks the unit is milliseconds since the epoch.
        Assert.InRange(message.Long("timestamp"), before - 300_000, before + 300_000);

        var history = await bob.HistoryAsync(chatId);
        var stored = Assert.Single(history);
        Assert.Equal(id, stored.Str("id"));
        Assert.Equal("Hello, Bob", stored.Str("content"));
        Assert.Equal(message.Long("timestamp"), stored.Long("timestamp"));
    }

    [Fact]
    public async Task Fields_the_server_owns_are_never_taken_from_the_request()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);

        var response = await alice.Api.PostAsync($"/chats/{chatId}/messages",
            new { content = "who am I", senderId = bob.Id, senderName = "Bob", status = "read", seq = 99, timestamp = 5 });
        response.AssertStatus(HttpStatusCode.Created, "POST message with forged fields");
        Assert.Equal(alice.Id, response.Json.Str("senderId"));
        Assert.Equal(alice.Name, response.Json.Str("senderName"));
        Assert.Equal("sent", response.Json.Str("status"));
        Assert.Equal(1, response.Json.Long("seq"));
        Assert.NotEqual(5, response.Json.Long("timestamp"));
        Assert.Equal(alice.Id, Assert.Single(await bob.HistoryAsync(chatId)).Str("senderId"));
        Assert.Equal(1, (await bob.ChatAsync(chatId)).Long("unreadCount"));
    }

    [Fact]
    public async Task Seq_starts_at_1_and_has_no_gaps_under_concurrent_senders()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        await using var watcher = await WsClient.ConnectAsync(Server, bob.AccessToken, name: "bob");

        const int perSender = 40;
        var sends = new List<Task<JsonElement>>();
        for (var i = 0; i < perSender; i++)
        {
            sends.Add(alice.SendTextAsync(chatId, $"a{i}"));
            sends.Add(bob.SendTextAsync(chatId, $"b{i}"));
        }
        var answers = await Task.WhenAll(sends);

        var seqs = answers.Select(m => m.Long("seq")).Order().ToArray();
        Assert.Equal(Enumerable.Range(1, 2 * perSender).Select(i => (long)i), seqs);

        var history = await alice.MessagesOldestFirstAsync(chatId);
        Assert.Equal(Enumerable.Range(1, 2 * perSender).Select(i => (long)i), history.Select(m => m.Long("seq")));
        // Each answer's seq is the one stored for that message.
        var stored = history.ToDictionary(m => m.Str("id")!, m => m.Long("seq"));
        Assert.All(answers, a => Assert.Equal(a.Long("seq"), stored[a.Str("id")!]));
        // Bob's history shows the same order.
        Assert.Equal(history.Select(m => m.Str("id")), (await bob.MessagesOldestFirstAsync(chatId)).Select(m => m.Str("id")));

        // The live stream delivers them in seq order too.
        var live = new List<long>();
        for (var i = 0; i < 2 * perSender; i++)
        {
            live.Add((await watcher.WaitForAsync(f => f.Type == "message" && f.Str("chatId") == chatId)).Data.Long("seq"));
        }
        Assert.Equal(Enumerable.Range(1, 2 * perSender).Select(i => (long)i), live);
    }

    [Fact]
    public async Task History_pages_newest_first_following_lastKey_until_it_is_null()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        for (var i = 1; i <= 25; i++) await (i % 2 == 0 ? bob : alice).SendTextAsync(chatId, $"m{i}");

        var pages = new List<List<JsonElement>>();
        string? lastKey = null;
        do
        {
            var path = $"/chats/{chatId}/messages?limit=10" + (lastKey is null ? "" : "&lastKey=" + Uri.EscapeDataString(lastKey));
            var response = await bob.Api.GetAsync(path);
            response.AssertStatus(HttpStatusCode.OK, $"GET {path}");
            pages.Add(response.Json.GetProperty("messages").EnumerateArray().ToList());
            var key = response.Json.GetProperty("lastKey");
            lastKey = key.ValueKind switch
            {
                JsonValueKind.Null => null,
                JsonValueKind.String => key.GetString(),
                _ => key.GetRawText(),
            };
        } while (lastKey is not null && pages.Count < 10);

        Assert.Null(lastKey);
        Assert.Equal(10, pages[0].Count);
        Assert.Equal(10, pages[1].Count);
        Assert.Equal(3, pages.Count);
        Assert.Equal(5, pages[2].Count);
        var contents = pages.SelectMany(p => p).Select(m => m.Field("content")).ToArray();
        Assert.Equal(Enumerable.Range(1, 25).Reverse().Select(i => $"m{i}"), contents);
        var seqs = pages.SelectMany(p => p).Select(m => m.Long("seq")).ToArray();
        Assert.Equal(Enumerable.Range(1, 25).Reverse().Select(i => (long)i), seqs);
    }

    [Fact]
    public async Task A_short_history_fits_one_page_with_a_null_lastKey()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        var empty = await alice.Api.GetAsync($"/chats/{chatId}/messages");
        empty.AssertStatus(HttpStatusCode.OK, "GET empty history");
        Assert.Empty(empty.Json.GetProperty("messages").EnumerateArray());
        Assert.Equal(JsonValueKind.Null, empty.Json.GetProperty("lastKey").ValueKind);

        await alice.SendTextAsync(chatId, "one");
        await bob.SendTextAsync(chatId, "two");
        var page = await alice.Api.GetAsync($"/chats/{chatId}/messages?limit=50");
        page.AssertStatus(HttpStatusCode.OK, "GET history");
        Assert.Equal(["two", "one"], page.Json.GetProperty("messages").EnumerateArray().Select(m => m.Field("content")).ToArray());
        Assert.Equal(JsonValueKind.Null, page.Json.GetProperty("lastKey").ValueKind);
    }

    [Fact]
    public async Task Content_of_4096_characters_is_accepted_and_one_more_is_a_bad_request()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);

        var longest = new string('x', 4096);
        var accepted = await alice.SendTextAsync(chatId, longest);
        Assert.Equal(longest, accepted.Str("content"));

        var tooLong = await alice.Api.PostAsync($"/chats/{chatId}/messages", new { content = new string('y', 4097) });
        tooLong.AssertStatus(HttpStatusCode.BadRequest, "POST 4,097 characters");
        Assert.NotNull(tooLong.Error);
        // Characters, not bytes: 4,096 two-byte characters are fine.
        await alice.SendTextAsync(chatId, new string('é', 4096));

        Assert.Equal(2, (await bob.HistoryAsync(chatId)).Count);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("{\"content\":\"\"}")]
    [InlineData("{\"content\":null}")]
    [InlineData("{\"content\":42}")]
    [InlineData("not json")]
    public async Task A_message_without_usable_text_content_is_a_bad_request(string body)
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        var response = await alice.Api.PostAsync($"/chats/{chatId}/messages", body);
        response.AssertStatus(HttpStatusCode.BadRequest, $"POST {body}");
        Assert.NotNull(response.Error);
        Assert.Empty(await alice.HistoryAsync(chatId));
    }
}
