using System.Net;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Compatibility;

/// <summary>JavaScript clients send <c>lastKey=null</c> or <c>lastKey=undefined</c> for "no key":
/// every paged route reads those (and an empty key) as the first page.</summary>
public sealed class PageKeyTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    [Theory]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("undefined")]
    public async Task An_empty_null_or_undefined_lastKey_is_the_first_page_of_history(string key)
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var ben = await ApiClient.CreateUserAsync(Server, "Ben");
        var chatId = await ann.OpenChatWithAsync(ben);
        await ann.SendTextAsync(chatId, "one");
        await ann.SendTextAsync(chatId, "two");
        await ann.SendTextAsync(chatId, "three");

        foreach (var path in new[] { $"/chats/{chatId}/messages?limit=2&lastKey={key}", $"/chat/messages?roomId={chatId}&limit=2&lastKey={key}" })
        {
            var page = await ann.Api.GetAsync(path);
            page.AssertStatus(HttpStatusCode.OK, $"GET {path}");
            Assert.Equal(["three", "two"], page.Json.GetProperty("messages").EnumerateArray().Select(m => m.Field("content")).ToArray());
            Assert.NotNull(page.Json.Str("lastKey"));
        }
    }

    [Fact]
    public async Task A_lastKey_that_is_not_a_key_is_still_a_bad_request()
    {
        var ann = await ApiClient.CreateUserAsync(Server);
        var ben = await ApiClient.CreateUserAsync(Server);
        var chatId = await ann.OpenChatWithAsync(ben);
        var response = await ann.Api.GetAsync($"/chats/{chatId}/messages?lastKey=banana");
        response.AssertStatus(HttpStatusCode.BadRequest, "GET with lastKey=banana");
        Assert.NotNull(response.Error);
    }
}
