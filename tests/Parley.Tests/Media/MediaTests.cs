using System.Net;
using System.Net.Http.Headers;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Media;

public sealed class MediaTests
{
    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 1, 2, 3];

    private static async Task<ApiClient.Response> UploadAsync(TestUser user, byte[] data, string contentType, string path = "/media", HttpMethod? method = null)
    {
        using var request = new HttpRequestMessage(method ?? HttpMethod.Post, path) { Content = new ByteArrayContent(data) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return await user.Api.SendAsync(request);
    }

    [Fact]
    public async Task A_file_name_with_a_line_break_or_a_direction_override_is_refused()
    {
        await using var server = await ParleyServer.StartAsync();
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        var mediaId = (await UploadAsync(ann, Png, "image/png")).Json.Str("mediaId")!;

        foreach (var name in new[] { "a\r\nb.png", "photo\u202egnp.exe", "tab\there.png", "line\u2028break.png" })
        {
            var sent = await ann.Api.PostAsync($"/chats/{chatId}/messages", new { type = "image", content = "look", media = new { mediaId, fileName = name } });
            Assert.Contains("fileName", sent.AssertError(HttpStatusCode.BadRequest));
        }
        Assert.DoesNotContain(await bob.HistoryAsync(chatId), m => m.Str("content") == "look");
        (await ann.Api.PostAsync($"/chats/{chatId}/messages", new { type = "image", content = "look", media = new { mediaId, fileName = "holiday 🌴.png" } }))
            .AssertStatus(HttpStatusCode.Created, "a name with an emoji");
    }

    [Fact]
    public async Task An_uploaded_file_sent_in_a_chat_is_downloadable_by_its_members_only()
    {
        await using var server = await ParleyServer.StartAsync();
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var eve = await ApiClient.CreateUserAsync(server, "Eve");
        var chatId = await ann.OpenChatWithAsync(bob);

        var upload = await UploadAsync(ann, Png, "image/png");
        upload.AssertStatus(HttpStatusCode.Created, "POST /media");
        var mediaId = upload.Json.Str("mediaId")!;
        Assert.Equal(Png.Length, upload.Json.GetProperty("size").GetInt64());
        Assert.Equal(HttpStatusCode.NotFound, (await bob.Api.GetAsync($"/media/{mediaId}")).Status);

        await using var bobSocket = await bob.ConnectAsync(server);
        var sent = await ann.Api.PostAsync($"/chats/{chatId}/messages", new { type = "image", content = "look", media = new { mediaId, fileName = "dot.png" } });
        sent.AssertStatus(HttpStatusCode.Created, "send image");
        var live = await bobSocket.WaitForAsync(f => f.Type == "message", what: "the image message");
        Assert.Equal("image", live.Str("type"));
        Assert.Equal(mediaId, live.Data.GetProperty("media").Str("mediaId"));
        Assert.Equal("dot.png", live.Data.GetProperty("media").Str("fileName"));

        using var download = new HttpRequestMessage(HttpMethod.Get, $"/media/{mediaId}");
        download.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bob.AccessToken);
        using var response = await bob.Api.Http.SendAsync(download);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Png, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal(HttpStatusCode.NotFound, (await eve.Api.GetAsync($"/media/{mediaId}")).Status);
    }

    [Fact]
    public async Task Media_messages_need_an_upload_the_sender_can_see()
    {
        await using var server = await ParleyServer.StartAsync();
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var eve = await ApiClient.CreateUserAsync(server, "Eve");
        var chatId = await ann.OpenChatWithAsync(bob);
        var evesUpload = (await UploadAsync(eve, Png, "image/png")).Json.Str("mediaId");

        Assert.Equal(HttpStatusCode.BadRequest, (await ann.Api.PostAsync($"/chats/{chatId}/messages", new { type = "image", media = new { mediaId = evesUpload } })).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await ann.Api.PostAsync($"/chats/{chatId}/messages", new { type = "image" })).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await ann.Api.PostAsync($"/chats/{chatId}/messages", new { type = "sticker", content = "x" })).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await UploadAsync(ann, Png, "not a type")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await UploadAsync(ann, Png, "a/b/c")).Status);
    }

    [Fact]
    public async Task Uploads_over_the_limit_are_refused_with_413()
    {
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Limits:MaxMediaBytes"] = "100000" });
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var response = await UploadAsync(ann, new byte[100_001], "application/octet-stream");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.Status);
        Assert.False(string.IsNullOrWhiteSpace(response.Error));
    }

    [Fact]
    public async Task A_profile_photo_must_be_an_image_and_is_visible_to_other_users()
    {
        await using var server = await ParleyServer.StartAsync();
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await UploadAsync(ann, "<html>"u8.ToArray(), "image/png", "/users/me/photo", HttpMethod.Put)).Status);
        var profile = await UploadAsync(ann, Png, "image/png", "/users/me/photo", HttpMethod.Put);
        profile.AssertStatus(HttpStatusCode.OK, "PUT /users/me/photo");
        var photoUrl = profile.Json.Str("photoUrl")!;
        Assert.StartsWith("/media/", photoUrl);
        using var download = new HttpRequestMessage(HttpMethod.Get, photoUrl);
        download.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bob.AccessToken);
        using var response = await bob.Api.Http.SendAsync(download);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Png, await response.Content.ReadAsByteArrayAsync());
    }
}
