using System.Net;
using System.Net.Http.Headers;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Chats;

public sealed class DisappearingMessagesTests
{
    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 9, 9, 9];

    private static readonly Dictionary<string, string?> FastSweeps = new() { ["Parley:Retention:SweepSeconds"] = "1" };

    [Fact]
    public async Task Messages_sent_under_the_timer_are_deleted_for_everyone_once_old_and_nothing_of_them_is_left()
    {
        var clock = new TestClock();
        await using var server = await ParleyServer.StartAsync(FastSweeps, clock: clock);
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        var before = await ann.SendTextAsync(chatId, "sent before the timer");
        var cursor = await bob.CurrentCursorAsync();

        (await ann.Api.PutAsync($"/chats/{chatId}/settings", new { disappearAfterSeconds = 86400 })).AssertStatus(HttpStatusCode.OK, "timer on");
        var secret = await ann.SendTextAsync(chatId, "a secret that disappears");
        using var upload = new HttpRequestMessage(HttpMethod.Post, "/media") { Content = new ByteArrayContent(Png) };
        upload.Content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        var media = await ann.Api.SendAsync(upload);
        media.AssertStatus(HttpStatusCode.Created, "upload");
        var mediaId = media.Json.Str("mediaId")!;
        var photo = await ann.Api.PostAsync($"/chats/{chatId}/messages", new { type = "image", content = "a photo", media = new { mediaId } });
        photo.AssertStatus(HttpStatusCode.Created, "send photo");
        Assert.Equal(HttpStatusCode.OK, await DownloadStatusAsync(bob, mediaId));
        // A reply sent after the timer was turned off outlives what it quotes, but not the quote.
        (await ann.Api.PutAsync($"/chats/{chatId}/settings", new { disappearAfterSeconds = 0 })).AssertStatus(HttpStatusCode.OK, "timer off");
        var reply = await bob.Api.PostAsync($"/chats/{chatId}/messages", new { content = "my answer", replyTo = secret.Str("id") });
        reply.AssertStatus(HttpStatusCode.Created, "reply");
        Assert.Equal("a secret that disappears", reply.Json.GetProperty("quote").Str("content"));

        await using var bobSocket = await bob.ConnectAsync(server);
        // Nothing goes before its time (a few sweeps run meanwhile).
        await bobSocket.ExpectNothingAsync(f => f.Type == "messageUpdated", TimeSpan.FromSeconds(3), "an expiry before the time");
        Assert.Equal(4, (await bob.HistoryAsync(chatId)).Count(m => m.Str("type") != "system"));

        clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        var gone = await bobSocket.WaitForAsync(f => f.Type == "messageUpdated" && f.Str("id") == secret.Str("id"),
            TimeSpan.FromSeconds(30), "the expiry of the secret");
        Assert.True(gone.Data.Bool("expired"));
        Assert.True(gone.Data.Bool("deleted"));
        Assert.Null(gone.Str("content"));
        await bobSocket.WaitForAsync(f => f.Type == "messageUpdated" && f.Str("id") == photo.Json.Str("id"), what: "the expiry of the photo");
        var requoted = await bobSocket.WaitForAsync(f => f.Type == "messageUpdated" && f.Str("id") == reply.Json.Str("id"), what: "the reply without its quote");
        Assert.Equal("", requoted.Data.GetProperty("quote").Str("content"));

        // Tokens issued a day ago have expired: sign in again, as a client would.
        var annNow = await ApiClient.SignInAgainAsync(server, ann);
        var bobNow = await ApiClient.SignInAgainAsync(server, bob);
        var history = await bobNow.HistoryAsync(chatId);
        var ids = history.Select(m => m.Str("id")).ToList();
        Assert.DoesNotContain(secret.Str("id"), ids);
        Assert.DoesNotContain(photo.Json.Str("id"), ids);
        Assert.Contains(before.Str("id"), ids);
        Assert.Contains(reply.Json.Str("id"), ids);
        Assert.DoesNotContain(history, m => m.GetRawText().Contains("a secret that disappears"));
        Assert.Equal(history.Count, (await annNow.HistoryAsync(chatId)).Count);

        var synced = await bobNow.SyncAllAsync(cursor);
        Assert.DoesNotContain(synced.Events, e => e.GetRawText().Contains("a secret that disappears") || e.GetRawText().Contains("a photo"));
        Assert.Contains(synced.Events, e => e.Str("type") == "messageUpdated" && e.GetProperty("data").Str("id") == secret.Str("id")
            && e.GetProperty("data").Bool("expired"));

        Assert.Equal(0, ServerDatabase.MessageCount(server, secret.Str("id")!));
        Assert.Equal(0, ServerDatabase.MessagesContaining(server, "secret that", quoted: "secret"));
        Assert.Equal(0, ServerDatabase.MediaCount(server, mediaId));
        (await bobNow.Api.GetAsync($"/media/{mediaId}")).AssertStatus(HttpStatusCode.NotFound, "the photo is gone");
        (await annNow.Api.GetAsync($"/media/{mediaId}")).AssertStatus(HttpStatusCode.NotFound, "the photo is gone for its sender too");
        var last = (await bobNow.ChatAsync(chatId)).GetProperty("lastMessage");
        Assert.Equal(reply.Json.Str("id"), last.Str("id"));
    }

    /// <summary>unreadCount is exact: a message that disappeared before it was read is no longer
    /// counted, neither at once nor after a read that stops short of it.</summary>
    [Fact]
    public async Task Messages_that_disappear_unread_are_no_longer_counted_unread()
    {
        var clock = new TestClock();
        await using var server = await ParleyServer.StartAsync(FastSweeps, clock: clock);
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        var hello = (await ann.SendTextAsync(chatId, "hello, this stays")).Str("id")!;
        (await ann.Api.PutAsync($"/chats/{chatId}/settings", new { disappearAfterSeconds = 86400 })).AssertStatus(HttpStatusCode.OK, "timer on");
        var first = (await ann.SendTextAsync(chatId, "this disappears")).Str("id")!;
        var second = (await ann.SendTextAsync(chatId, "and so does this")).Str("id")!;
        (await ann.Api.PutAsync($"/chats/{chatId}/settings", new { disappearAfterSeconds = 0 })).AssertStatus(HttpStatusCode.OK, "timer off");
        await ann.SendTextAsync(chatId, "this stays too");
        await bob.SendTextAsync(chatId, "Bob's own");
        // hello, the two lines of the timer, two that disappear and one more, all Ann's.
        Assert.Equal(6, (await bob.ChatAsync(chatId)).Long("unreadCount"));

        await using (var socket = await bob.ConnectAsync(server))
        {
            clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
            foreach (var id in new[] { first, second })
            {
                await socket.WaitForAsync(f => f.Type == "messageUpdated" && f.Str("id") == id && f.Data.Bool("expired"), TimeSpan.FromSeconds(30), "an expiry");
            }
        }
        var bobNow = await ApiClient.SignInAgainAsync(server, bob);
        var annNow = await ApiClient.SignInAgainAsync(server, ann);
        Assert.Equal(4, (await bobNow.HistoryAsync(chatId)).Count(m => m.Str("senderId") == ann.Id));
        Assert.Equal(4, (await bobNow.ChatAsync(chatId)).Long("unreadCount"));
        Assert.Equal(1, (await annNow.ChatAsync(chatId)).Long("unreadCount"));

        // Read up to the first message: the three of Ann's left after it are unread.
        (await bobNow.Api.PostAsync($"/chats/{chatId}/read", new { messageId = hello })).AssertStatus(HttpStatusCode.NoContent, "read the first");
        Assert.Equal(3, (await bobNow.ChatAsync(chatId)).Long("unreadCount"));
        (await bobNow.Api.PostAsync($"/chats/{chatId}/read", new { })).AssertStatus(HttpStatusCode.NoContent, "read everything");
        Assert.Equal(0, (await bobNow.ChatAsync(chatId)).Long("unreadCount"));
    }

    private static async Task<HttpStatusCode> DownloadStatusAsync(TestUser user, string mediaId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/media/{mediaId}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", user.AccessToken);
        using var response = await user.Api.Http.SendAsync(request);
        return response.StatusCode;
    }
}
