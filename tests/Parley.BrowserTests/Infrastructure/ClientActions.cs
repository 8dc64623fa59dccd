using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Parley.BrowserTests.Infrastructure;

/// <summary>What the newer parts of the client are driven with: the message menu, files, codes.</summary>
public static class ClientActions
{
    /// <summary>A 2×2 PNG.</summary>
    public static readonly byte[] Png = Convert.FromBase64String(
        "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGNgYPj/n4GB4T8DAwMDAwAt8gP9TPq2WQAAAABJRU5ErkJggg==");

    /// <summary>Opens the menu of the message with this text and picks an item.</summary>
    public static async Task ChooseFromMenuAsync(this ChatUser user, string text, string item)
    {
        var row = user.Message(text);
        await row.HoverAsync();
        await row.GetByRole(AriaRole.Button, new() { Name = "Message options" }).ClickAsync();
        await user.Page.GetByRole(AriaRole.Menu, new() { Name = "Message options" }).GetByRole(AriaRole.Menuitem, new() { Name = item, Exact = true }).ClickAsync();
    }

    /// <summary>A message row by any text it contains (captions, media).</summary>
    public static ILocator Row(this ChatUser user, string text) =>
        user.Page.Locator(".message-list > .msg-row", new() { HasText = text });

    /// <summary>Attach → pick a file → caption → Send, as a person would.</summary>
    public static async Task SendFileAsync(this ChatUser user, string name, string mimeType, byte[] bytes, string? caption = null)
    {
        await user.Page.Locator("#attach-input").SetInputFilesAsync(new FilePayload { Name = name, MimeType = mimeType, Buffer = bytes });
        var dialog = user.Page.GetByRole(AriaRole.Dialog, new() { NameRegex = new Regex("^Send") });
        if (caption is not null) await dialog.GetByLabel("Caption").FillAsync(caption);
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Send", Exact = true }).ClickAsync();
        await Expect(dialog).ToBeHiddenAsync();
    }

    /// <summary>The newest one-time code the server's log sender wrote for this destination.</summary>
    public static string LatestCode(this TestServer server, string purpose, string destination)
    {
        var pattern = new Regex($"One-time {Regex.Escape(purpose)} code for {Regex.Escape(destination)}: ([0-9]{{6}})");
        return server.Logs.Select(line => pattern.Match(line)).Where(m => m.Success).Select(m => m.Groups[1].Value).LastOrDefault()
            ?? throw new InvalidOperationException($"No {purpose} code for {destination} in the server log.");
    }

    /// <summary>The page's access token (to seed data through the REST API as this person).</summary>
    public static Task<string> AccessTokenAsync(this ChatUser user) =>
        user.Page.EvaluateAsync<string>("() => JSON.parse(localStorage.getItem('parley.session')).accessToken");

    /// <summary>The id of the conversation open on the page (from the address).</summary>
    public static async Task<string> OpenChatIdAsync(this ChatUser user) =>
        Uri.UnescapeDataString((await user.Page.EvaluateAsync<string>("() => location.hash")).Replace("#/chat/", ""));

    /// <summary>Sends messages through the REST API, in order, as this person.</summary>
    public static async Task SeedAsync(this ChatUser user, TestServer server, string chatId, IEnumerable<string> texts)
    {
        using var rest = new RestClient(server);
        var token = await user.AccessTokenAsync();
        foreach (var text in texts) await rest.PostAsync(token, $"/chats/{Uri.EscapeDataString(chatId)}/messages", new { content = text });
    }

    public static int CodeCount(this TestServer server, string purpose, string destination) =>
        server.Logs.Count(line => line.Contains($"One-time {purpose} code for {destination}: ", StringComparison.Ordinal));
}
