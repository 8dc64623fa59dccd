using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Messages;

/// <summary>"Deleted for everyone" reaches every copy of the content: the attachment is no longer
/// served to the chat, and replies sent earlier no longer quote it, in history, /sync and live.</summary>
public sealed class DeleteForEveryoneCopiesTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 1, 2, 3];
    private ParleyServer Server => shared.Server;

    private static async Task<string> UploadAsync(TestUser user)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/media") { Content = new ByteArrayContent(Png) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        var response = await user.Api.SendAsync(request);
        response.AssertStatus(HttpStatusCode.Created, "POST /media");
        return response.Json.Str("mediaId")!;
    }

    /// <summary>The status of a download (the body is the file, not JSON).</summary>
    private static async Task<HttpStatusCode> DownloadAsync(TestUser user, string mediaId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/media/{mediaId}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", user.AccessToken);
        using var response = await user.Api.Http.SendAsync(request);
        if (response.StatusCode == HttpStatusCode.OK) Assert.Equal(Png, await response.Content.ReadAsByteArrayAsync());
        return response.StatusCode;
    }

    [Fact]
    public async Task The_attachment_is_served_to_the_uploader_only_afterwards()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        var mediaId = await UploadAsync(ann);
        var sent = await ann.Api.PostAsync($"/chats/{chatId}/messages", new { type = "image", content = "look", media = new { mediaId } });
        sent.AssertStatus(HttpStatusCode.Created, "send image");
        Assert.Equal(HttpStatusCode.OK, await DownloadAsync(bob, mediaId)); // Bob downloads before the delete

        (await ann.Api.DeleteAsync($"/messages/{sent.Json.Str("id")}?for=everyone")).AssertStatus(HttpStatusCode.NoContent, "delete for everyone");

        Assert.Equal(HttpStatusCode.NotFound, await DownloadAsync(bob, mediaId)); // Bob downloads after the delete
        Assert.Equal(HttpStatusCode.OK, await DownloadAsync(ann, mediaId)); // the uploader still has her file
        var gone = (await bob.HistoryAsync(chatId)).Single();
        Assert.False(gone.TryGetProperty("media", out _));
    }

    [Fact]
    public async Task A_file_sent_twice_in_a_chat_stays_served_while_one_message_still_carries_it()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        var mediaId = await UploadAsync(ann);
        var first = await ann.Api.PostAsync($"/chats/{chatId}/messages", new { type = "image", media = new { mediaId } });
        var second = await ann.Api.PostAsync($"/chats/{chatId}/messages", new { type = "image", media = new { mediaId } });

        (await ann.Api.DeleteAsync($"/messages/{first.Json.Str("id")}?for=everyone")).AssertStatus(HttpStatusCode.NoContent, "delete the first");
        Assert.Equal(HttpStatusCode.OK, await DownloadAsync(bob, mediaId)); // the second message still shows it
        (await ann.Api.DeleteAsync($"/messages/{second.Json.Str("id")}?for=everyone")).AssertStatus(HttpStatusCode.NoContent, "delete the second");
        Assert.Equal(HttpStatusCode.NotFound, await DownloadAsync(bob, mediaId)); // no message shows it any more
    }

    [Fact]
    public async Task Earlier_replies_quote_it_as_deleted_in_history_sync_and_live_frames()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var start = await bob.CurrentCursorAsync();
        var chatId = await ann.OpenChatWithAsync(bob);
        var secret = (await ann.SendTextAsync(chatId, "my secret plan")).Str("id")!;
        var reply = await bob.Api.PostAsync($"/chats/{chatId}/messages", new { content = "what a plan", replyTo = secret });
        reply.AssertStatus(HttpStatusCode.Created, "reply");
        Assert.Equal("my secret plan", reply.Json.GetProperty("quote").Str("content"));
        var replyId = reply.Json.Str("id")!;
        var bobCursor = await bob.CurrentCursorAsync();
        await using var bobSocket = await bob.ConnectAsync(Server);

        (await ann.Api.DeleteAsync($"/messages/{secret}?for=everyone")).AssertStatus(HttpStatusCode.NoContent, "delete for everyone");

        static void AssertQuoteDeleted(JsonElement message, string where)
        {
            var quote = message.GetProperty("quote");
            Assert.True(quote.TryGetProperty("deleted", out var deleted) && deleted.GetBoolean(), $"{where}: the quote says deleted: {message}");
            Assert.Equal(JsonValueKind.Null, quote.GetProperty("content").ValueKind);
            Assert.DoesNotContain("secret", message.GetRawText());
        }

        foreach (var member in new[] { ann, bob })
        {
            AssertQuoteDeleted((await member.HistoryAsync(chatId)).Single(m => m.Str("id") == replyId), "history");
        }
        var live = await bobSocket.WaitForAsync(f => f.Type == "messageUpdated" && f.MessageId == replyId, what: "the reply updated live");
        AssertQuoteDeleted(live.Data, "live frame");
        var synced = (await bob.SyncAllAsync(bobCursor)).Events
            .Where(e => e.GetProperty("data").Str("id") == replyId).ToList();
        Assert.NotEmpty(synced);
        Assert.All(synced, e => AssertQuoteDeleted(e.GetProperty("data"), "sync"));
        // A sync from before the reply reads it back as it is now, without the quote text.
        Assert.DoesNotContain("secret", JsonSerializer.Serialize((await bob.SyncAllAsync(start)).Events));

        // A reply to the deleted message quotes nothing either.
        var late = await bob.Api.PostAsync($"/chats/{chatId}/messages", new { content = "too late", replyTo = secret });
        late.AssertStatus(HttpStatusCode.Created, "reply to the deleted message");
        AssertQuoteDeleted(late.Json, "a later reply");
    }
}
