using System.Net;
using System.Text.Json;
using Parley.Testing;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Search;

/// <summary><c>GET /search</c> over real HTTP, on whichever backend the run uses (SQLite, or
/// PostgreSQL under PARLEY_TEST_STORE=postgres).</summary>
public sealed class MessageSearchTests
{
    private static async Task<List<JsonElement>> SearchAsync(TestUser user, string query, string? chatId = null, int? limit = null, string? lastKey = null)
    {
        var path = "/search?q=" + Uri.EscapeDataString(query)
            + (chatId is null ? "" : "&chatId=" + Uri.EscapeDataString(chatId))
            + (limit is null ? "" : $"&limit={limit}")
            + (lastKey is null ? "" : "&lastKey=" + Uri.EscapeDataString(lastKey));
        var response = await user.Api.GetAsync(path);
        response.AssertStatus(HttpStatusCode.OK, "GET " + path);
        return response.Json.GetProperty("messages").EnumerateArray().ToList();
    }

    private static List<string?> Contents(IEnumerable<JsonElement> messages) => messages.Select(m => m.Str("content")).ToList();

    [Fact]
    public async Task Finds_words_by_prefix_in_any_case_only_in_the_callers_chats_newest_first()
    {
        await using var server = await ParleyServer.StartAsync();
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var eve = await ApiClient.CreateUserAsync(server, "Eve");
        var annBob = await ann.OpenChatWithAsync(bob);
        var annEve = await ann.OpenChatWithAsync(eve);
        await ann.SendTextAsync(annBob, "The quick brown fox");
        await bob.SendTextAsync(annBob, "a lazy dog, sleeping");
        await ann.SendTextAsync(annEve, "Quick word for Eve only");
        await bob.SendTextAsync(annBob, "QUICKLY, before lunch!");

        Assert.Equal(["QUICKLY, before lunch!", "The quick brown fox"], Contents(await SearchAsync(bob, "quick")));
        Assert.Equal(["QUICKLY, before lunch!", "Quick word for Eve only", "The quick brown fox"], Contents(await SearchAsync(ann, "Quick")));
        Assert.Equal(["Quick word for Eve only"], Contents(await SearchAsync(eve, "qui")));
        // Every word must be there; punctuation in the query is ignored.
        Assert.Equal(["The quick brown fox"], Contents(await SearchAsync(ann, "brown, quick!")));
        Assert.Equal(["a lazy dog, sleeping"], Contents(await SearchAsync(ann, "sleep")));
        Assert.Empty(await SearchAsync(eve, "lazy"));
        // Limited to one chat.
        Assert.Equal(["Quick word for Eve only"], Contents(await SearchAsync(ann, "quick", annEve)));
        var hit = (await SearchAsync(bob, "fox")).Single();
        Assert.Equal((annBob, ann.Id, "text"), (hit.Str("chatId"), hit.Str("senderId"), hit.Str("type")));
        Assert.True(hit.GetProperty("seq").GetInt64() == 1);
        // A chat the caller is not in is 404, as everywhere.
        Assert.Equal(HttpStatusCode.NotFound, (await eve.Api.GetAsync($"/search?q=quick&chatId={Uri.EscapeDataString(annBob)}")).Status);
    }

    [Fact]
    public async Task A_member_finds_only_what_was_sent_after_they_joined_and_never_system_lines()
    {
        await using var server = await ParleyServer.StartAsync();
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var cat = await ApiClient.CreateUserAsync(server, "Cat");
        var groupId = await ann.CreateGroupAsync("Planning committee", cat);
        await ann.SendTextAsync(groupId, "secret plan before Bob");
        (await ann.Api.PostAsync($"/groups/{groupId}/members", new { memberIds = new[] { bob.Id } })).AssertStatus(HttpStatusCode.OK, "add Bob");
        await ann.SendTextAsync(groupId, "public plan with Bob");

        Assert.Equal(["public plan with Bob"], Contents(await SearchAsync(bob, "plan")));
        Assert.Equal(["public plan with Bob", "secret plan before Bob"], Contents(await SearchAsync(cat, "plan")));
        // The group name is in the group_created system line: not a message anyone wrote.
        Assert.Empty(await SearchAsync(cat, "committee"));
    }

    [Fact]
    public async Task A_1to1_chat_id_in_either_order_and_a_null_or_undefined_lastKey_are_taken_as_on_a_history_page()
    {
        await using var server = await ParleyServer.StartAsync();
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        await ann.SendTextAsync(chatId, "either order finds me");
        var canonical = ChatHelpers.DirectChatId(ann.Id, bob.Id);
        var reversed = canonical == $"chat_{ann.Id}_{bob.Id}" ? $"chat_{bob.Id}_{ann.Id}" : $"chat_{ann.Id}_{bob.Id}";

        Assert.Equal(["either order finds me"], Contents(await SearchAsync(ann, "order", chatId: reversed)));
        Assert.Equal(["either order finds me"], Contents(await SearchAsync(bob, "order", chatId: canonical)));
        // What a JavaScript client sends for "no key yet" is the first page, not a refusal.
        Assert.Equal(["either order finds me"], Contents(await SearchAsync(ann, "order", lastKey: "null")));
        Assert.Equal(["either order finds me"], Contents(await SearchAsync(ann, "order", lastKey: "undefined")));
        (await ann.Api.GetAsync("/search?q=order&lastKey=abc")).AssertError(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Pages_go_back_through_older_matches_with_lastKey_until_it_is_null()
    {
        await using var server = await ParleyServer.StartAsync();
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        for (var i = 1; i <= 25; i++)
        {
            await ann.SendTextAsync(chatId, $"needle number {i}");
            await ann.SendTextAsync(chatId, $"hay {i}");
        }

        var seen = new List<string?>();
        string? lastKey = null;
        var pages = 0;
        do
        {
            var path = "/search?q=needle&limit=10" + (lastKey is null ? "" : "&lastKey=" + Uri.EscapeDataString(lastKey));
            var response = await bob.Api.GetAsync(path);
            response.AssertStatus(HttpStatusCode.OK, path);
            seen.AddRange(Contents(response.Json.GetProperty("messages").EnumerateArray()));
            lastKey = response.Json.GetProperty("lastKey").ValueKind == JsonValueKind.Null ? null : response.Json.Str("lastKey");
            pages++;
        }
        while (lastKey is not null && pages < 10);

        Assert.Equal(3, pages);
        Assert.Equal(Enumerable.Range(1, 25).Reverse().Select(i => (string?)$"needle number {i}").ToList(), seen);
    }

    [Fact]
    public async Task Messages_are_found_whether_the_store_indexed_them_in_a_batch_or_the_search_catches_them_up_after_a_restart()
    {
        await using var first = await ParleyServer.StartAsync();
        var ann = await ApiClient.CreateUserAsync(first, "Ann");
        var bob = await ApiClient.CreateUserAsync(first, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        // Deleted before any batch or search could index it: it must never be found.
        var gone = (await ann.SendTextAsync(chatId, "walnut withdrawn")).Str("id");
        (await ann.Api.DeleteAsync($"/messages/{gone}?for=everyone")).AssertStatus(HttpStatusCode.NoContent, "delete for everyone");
        // More messages than SQLite indexes in one batch (Parley.Server.Storage.Sqlite.SqliteSearchIndex.Chunk).
        const int Count = 520;
        for (var i = 1; i <= Count; i++) await ann.SendTextAsync(chatId, $"filler {i}");
        var edited = (await ann.SendTextAsync(chatId, "almond draft")).Str("id");
        (await ann.Api.PatchAsync($"/messages/{edited}", new { content = "walnut final" })).AssertStatus(HttpStatusCode.OK, "edit");
        if (TestBackend.Store == TestStore.Sqlite)
        {
            // No search has run: the store indexed the first batch on its own, and not the rest yet.
            var indexed = long.Parse(ServerDatabase.Scalar(first, "SELECT count(*) FROM message_search WHERE message_search MATCH 'filler'")!);
            Assert.InRange(indexed, 1, Count - 1);
        }
        await first.StopAsync();

        // What was not indexed when the server stopped is found after the restart.
        await using var second = await ParleyServer.StartAsync(dataDirectory: first.DataDirectory);
        var session = await Accounts.LoginAsync(second, bob.Email, bob.Password);
        bob = bob with { Api = second.Api(session.AccessToken) };
        Assert.Equal(["walnut final"], Contents(await SearchAsync(bob, "walnut")));
        Assert.Empty(await SearchAsync(bob, "almond"));
        Assert.Equal([$"filler {Count}", $"filler {Count - 1}"], Contents(await SearchAsync(bob, "filler", limit: 2)));
        if (TestBackend.Store == TestStore.Sqlite)
        {
            Assert.Equal(Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ServerDatabase.Scalar(second, "SELECT count(*) FROM message_search WHERE message_search MATCH 'filler'"));
            Assert.Equal("1", ServerDatabase.Scalar(second, "SELECT count(*) FROM message_search WHERE message_search MATCH 'walnut'"));
            Assert.Equal("0", ServerDatabase.Scalar(second, "SELECT count(*) FROM message_search WHERE message_search MATCH 'almond'"));
        }
    }

    [Fact]
    public async Task Edits_and_deletes_update_what_is_found_and_a_hidden_message_is_not_found_by_who_hid_it()
    {
        await using var server = await ParleyServer.StartAsync();
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        var edited = (await ann.SendTextAsync(chatId, "apple pie")).Str("id");
        var deleted = (await ann.SendTextAsync(chatId, "cherry tart")).Str("id");
        var hidden = (await ann.SendTextAsync(chatId, "damson jam")).Str("id");

        (await ann.Api.PatchAsync($"/messages/{edited}", new { content = "banana bread" })).AssertStatus(HttpStatusCode.OK, "edit");
        Assert.Empty(await SearchAsync(bob, "apple"));
        Assert.Equal(["banana bread"], Contents(await SearchAsync(bob, "banana")));

        (await ann.Api.DeleteAsync($"/messages/{deleted}?for=everyone")).AssertStatus(HttpStatusCode.NoContent, "delete for everyone");
        Assert.Empty(await SearchAsync(ann, "cherry"));
        Assert.Empty(await SearchAsync(bob, "cherry"));

        (await bob.Api.DeleteAsync($"/messages/{hidden}?for=me")).AssertStatus(HttpStatusCode.NoContent, "delete for me");
        Assert.Empty(await SearchAsync(bob, "damson"));
        Assert.Equal(["damson jam"], Contents(await SearchAsync(ann, "damson")));
    }

    [Fact]
    public async Task A_reply_quote_follows_an_edit_and_goes_when_the_quoted_message_is_deleted_for_everyone()
    {
        await using var server = await ParleyServer.StartAsync();
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        var original = (await ann.SendTextAsync(chatId, "meet at noon")).Str("id");
        var replied = await bob.Api.PostAsync($"/chats/{chatId}/messages", new { content = "ok", replyTo = original });
        replied.AssertStatus(HttpStatusCode.Created, "reply");
        var replyId = replied.Json.Str("id");
        await using var annSocket = await ann.ConnectAsync(server);

        (await ann.Api.PatchAsync($"/messages/{original}", new { content = "meet at one" })).AssertStatus(HttpStatusCode.OK, "edit");
        var reply = (await bob.HistoryAsync(chatId)).First(m => m.Str("content") == "ok");
        Assert.Equal("meet at one", reply.GetProperty("quote").Str("content"));
        // Open clients see the reply change too, as they do after a delete.
        var live = await annSocket.WaitForAsync(f => f.Type == "messageUpdated" && f.MessageId == replyId, what: "the reply with the new quote");
        Assert.Equal("meet at one", live.Data.GetProperty("quote").Str("content"));

        (await ann.Api.DeleteAsync($"/messages/{original}?for=everyone")).AssertStatus(HttpStatusCode.NoContent, "delete");
        reply = (await bob.HistoryAsync(chatId)).First(m => m.Str("content") == "ok");
        Assert.Equal(JsonValueKind.Null, reply.GetProperty("quote").GetProperty("content").ValueKind);
        Assert.True(reply.GetProperty("quote").GetProperty("deleted").GetBoolean());
        var history = (await bob.Api.GetAsync($"/chats/{chatId}/messages")).Json.ToString();
        Assert.DoesNotContain("noon", history);
        Assert.DoesNotContain("meet at one", history);
    }

    [Fact]
    public async Task A_disappearing_message_is_not_found_once_its_time_is_up_even_before_the_sweep_deletes_it()
    {
        var clock = new TestClock();
        // Sweeps far apart: the expired message is still stored when the search runs.
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Retention:SweepSeconds"] = "3600" }, clock: clock);
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        await ann.SendTextAsync(chatId, "ephemeral lasting words");
        (await ann.Api.PutAsync($"/chats/{chatId}/settings", new { disappearAfterSeconds = 86400 })).AssertStatus(HttpStatusCode.OK, "timer on");
        await ann.SendTextAsync(chatId, "ephemeral fleeting words");
        Assert.Equal(["ephemeral fleeting words", "ephemeral lasting words"], Contents(await SearchAsync(bob, "ephemeral")));

        clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        // Tokens issued a day ago have expired: sign in again, as a client would.
        var session = await Accounts.LoginAsync(server, bob.Email, bob.Password);
        bob = bob with { Api = server.Api(session.AccessToken) };
        Assert.Equal(1, ServerDatabase.MessagesContaining(server, "ephemeral fleeting words"));
        Assert.Equal(["ephemeral lasting words"], Contents(await SearchAsync(bob, "ephemeral")));
        Assert.Empty(await SearchAsync(bob, "fleeting"));
    }

    [Fact]
    public async Task An_expired_message_leaves_the_search_index()
    {
        var clock = new TestClock();
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Retention:SweepSeconds"] = "1" }, clock: clock);
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        (await ann.Api.PutAsync($"/chats/{chatId}/settings", new { disappearAfterSeconds = 86400 })).AssertStatus(HttpStatusCode.OK, "timer on");
        var fleeting = await ann.SendTextAsync(chatId, "transient zebra crossing");
        Assert.Single(await SearchAsync(bob, "zebra"));
        await using var bobSocket = await bob.ConnectAsync(server);

        clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        await bobSocket.WaitForAsync(f => f.Type == "messageUpdated" && f.Str("id") == fleeting.Str("id"), TimeSpan.FromSeconds(30), "the expiry");
        var session = await Accounts.LoginAsync(server, bob.Email, bob.Password);
        bob = bob with { Api = server.Api(session.AccessToken) };
        Assert.Empty(await SearchAsync(bob, "zebra"));
        Assert.Equal(0, ServerDatabase.MessagesContaining(server, "zebra"));
        if (TestBackend.Store == TestStore.Sqlite)
        {
            // SQLite keeps its own full-text index: the expired message's words are gone from it too.
            Assert.Equal("0", ServerDatabase.Scalar(server, "SELECT count(*) FROM message_search WHERE message_search MATCH 'zebra'"));
        }
    }

    [Fact]
    public async Task Bad_input_is_a_400_with_a_sentence_and_no_token_is_a_401()
    {
        await using var server = await ParleyServer.StartAsync();
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        foreach (var path in new[]
        {
            "/search", "/search?q=", "/search?q=%20%20", "/search?q=!!!%20%3F", "/search?q=" + new string('a', 201),
            "/search?q=" + string.Join("%20", Enumerable.Range(1, 9).Select(i => "w" + i)), "/search?q=" + new string('b', 65),
            "/search?q=hi&limit=0", "/search?q=hi&limit=abc", "/search?q=hi&limit=101", "/search?q=hi&lastKey=abc", "/search?q=hi&lastKey=-5",
            "/search?q=%22%20OR%20*", "/search?q=NEAR(a%20b)",
        })
        {
            var response = await ann.Api.GetAsync(path);
            if (path.Contains("OR") || path.Contains("NEAR"))
            {
                // Query syntax is not interpreted: these are just words.
                response.AssertStatus(HttpStatusCode.OK, path);
                continue;
            }
            response.AssertStatus(HttpStatusCode.BadRequest, path);
            Assert.False(string.IsNullOrWhiteSpace(response.Error), path);
        }
        ann.Api.AccessToken = null;
        Assert.Equal(HttpStatusCode.Unauthorized, (await ann.Api.GetAsync("/search?q=hi")).Status);
    }
}
