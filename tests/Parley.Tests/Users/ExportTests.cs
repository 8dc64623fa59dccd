using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Parley.Testing;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Users;

public sealed class ExportTests
{
    private const int ExportsPerHour = 3;
    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 4, 5, 6];

    [Fact]
    public async Task The_export_holds_the_profile_chats_and_own_messages_with_media_ids_and_nothing_deleted_or_of_others()
    {
        await using var server = await ParleyServer.StartAsync();
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var carol = await ApiClient.CreateUserAsync(server, "Carol");
        var direct = await ann.OpenChatWithAsync(bob);
        var group = await carol.CreateGroupAsync("Book club", ann, bob);
        var kept = await ann.SendTextAsync(direct, "my first words");
        var edited = await ann.SendTextAsync(direct, "typo hree");
        (await ann.Api.PatchAsync($"/messages/{edited.Str("id")}", new { content = "typo here" })).AssertStatus(HttpStatusCode.OK, "edit");
        var deleted = await ann.SendTextAsync(direct, "delete me please");
        (await ann.Api.DeleteAsync($"/messages/{deleted.Str("id")}?for=everyone")).AssertStatus(HttpStatusCode.NoContent, "delete");
        await bob.SendTextAsync(direct, "bob's own words");
        await ann.SendTextAsync(group, "in the group");
        using var upload = new HttpRequestMessage(HttpMethod.Post, "/media") { Content = new ByteArrayContent(Png) };
        upload.Content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        var media = await ann.Api.SendAsync(upload);
        var mediaId = media.Json.Str("mediaId")!;
        (await ann.Api.PostAsync($"/chats/{group}/messages", new { type = "image", content = "cover", media = new { mediaId } }))
            .AssertStatus(HttpStatusCode.Created, "photo");
        // A group she left still has her words in it.
        var left = await carol.CreateGroupAsync("Old club", ann);
        var leftWords = await ann.SendTextAsync(left, "goodbye all");
        (await ann.Api.DeleteAsync($"/groups/{left}/members/{ann.Id}")).AssertStatus(HttpStatusCode.OK, "leave");

        using var request = new HttpRequestMessage(HttpMethod.Get, "/users/me/export");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ann.AccessToken);
        using var response = await ann.Api.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("attachment", response.Content.Headers.ContentDisposition?.DispositionType);
        var text = await response.Content.ReadAsStringAsync();
        using var doc = JsonDocument.Parse(text);
        var root = doc.RootElement;
        Assert.Equal(ann.Email, root.GetProperty("profile").Str("email"));
        Assert.Equal("Ann", root.GetProperty("profile").Str("name"));
        var chats = root.GetProperty("chats").EnumerateArray().ToList();
        Assert.Equal(new[] { direct, group, left }.Order(StringComparer.Ordinal), chats.Select(c => c.Str("id")!).Order(StringComparer.Ordinal));
        Assert.False(chats.Single(c => c.Str("id") == left).GetProperty("member").GetBoolean());
        Assert.Equal("Book club", chats.Single(c => c.Str("id") == group).Str("name"));

        var messages = root.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(new[] { "my first words", "typo here", "in the group", "cover", "goodbye all" }.Order(), messages.Select(m => m.Str("content")!).Order());
        Assert.Contains(messages, m => m.Str("id") == kept.Str("id") && m.Str("chatId") == direct);
        Assert.Contains(messages, m => m.Str("id") == leftWords.Str("id"));
        Assert.DoesNotContain(messages, m => m.Str("id") == deleted.Str("id"));
        Assert.DoesNotContain("delete me please", text);
        Assert.DoesNotContain("bob's own words", text);
        Assert.Equal(mediaId, messages.Single(m => m.Str("content") == "cover").GetProperty("media").Str("mediaId"));
        Assert.Contains(mediaId, root.GetProperty("media").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Exports_are_rate_limited_per_user_and_need_a_token()
    {
        await using var server = await ParleyServer.StartAsync();
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Api().GetAsync("/users/me/export")).Status);
        for (var i = 0; i < ExportsPerHour; i++) (await ann.Api.GetAsync("/users/me/export")).AssertStatus(HttpStatusCode.OK, $"export {i + 1}");
        var refused = await ann.Api.GetAsync("/users/me/export");
        refused.AssertError(HttpStatusCode.TooManyRequests);
        Assert.NotNull(refused.Raw.Headers.RetryAfter);
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        (await bob.Api.GetAsync("/users/me/export")).AssertStatus(HttpStatusCode.OK, "another user");
    }

    [Fact]
    public async Task Exports_are_counted_in_the_store_so_every_node_and_a_restart_share_the_allowance()
    {
        var shared = Path.Combine(Path.GetTempPath(), "parley-tests", Guid.NewGuid().ToString("N"));
        try
        {
            await using var first = await ParleyServer.StartAsync(null, shared);
            var ann = await ApiClient.CreateUserAsync(first, "Ann");
            for (var i = 0; i < ExportsPerHour - 1; i++) (await ann.Api.GetAsync("/users/me/export")).AssertStatus(HttpStatusCode.OK, $"export {i + 1}");
            // A second node on the same store (on SQLite, where one process owns the file: the same
            // node restarted, which forgets what it counted in memory).
            if (TestBackend.Store == TestStore.Sqlite) await first.DisposeAsync();
            await using var second = await ParleyServer.StartAsync(null, shared);
            using var onSecond = second.Api(ann.AccessToken);

            (await onSecond.GetAsync("/users/me/export")).AssertStatus(HttpStatusCode.OK, "the hour's last export, on another node");
            var refused = await onSecond.GetAsync("/users/me/export");
            refused.AssertError(HttpStatusCode.TooManyRequests);
            Assert.True(refused.Raw.Headers.RetryAfter?.Delta > TimeSpan.FromMinutes(50), $"Retry-After is {refused.Raw.Headers.RetryAfter?.Delta}");
            if (TestBackend.Store != TestStore.Sqlite)
            {
                using var onFirst = first.Api(ann.AccessToken);
                (await onFirst.GetAsync("/users/me/export")).AssertError(HttpStatusCode.TooManyRequests);
            }
        }
        finally
        {
            await TestBackend.ReleaseAsync(shared);
            if (Directory.Exists(shared)) Directory.Delete(shared, recursive: true);
        }
    }
}
