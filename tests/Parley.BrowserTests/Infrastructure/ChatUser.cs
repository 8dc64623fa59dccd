using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Parley.BrowserTests.Infrastructure;

/// <summary>One person in their own browser context, driving the web client the way they would:
/// by labels, roles and visible text.</summary>
public sealed class ChatUser : IAsyncDisposable
{
    public const string Password = "parley-browser-passphrase";

    private readonly IBrowserContext _context;
    private readonly TestServer _server;

    public IPage Page { get; }
    public IBrowserContext Context => _context;
    public string Name { get; }
    public string Email { get; }
    public List<string> ConsoleErrors { get; } = [];

    private ChatUser(IBrowserContext context, IPage page, TestServer server, string name, string email)
    {
        _context = context;
        Page = page;
        _server = server;
        Name = name;
        Email = email;
        page.Console += (_, message) => { if (message.Type == "error") ConsoleErrors.Add(message.Text); };
        page.PageError += (_, error) => ConsoleErrors.Add(error);
    }

    public bool Closed { get; private set; }

    public static async Task<ChatUser> OpenAsync(BrowserFixture browser, TestServer server, string name, ViewportSize? viewport = null, string? email = null)
    {
        var context = await browser.Browser.NewContextAsync(new()
        {
            ViewportSize = viewport ?? new ViewportSize { Width = 1280, Height = 800 },
            Locale = "en-GB",
            TimezoneId = "UTC",
            ColorScheme = ColorScheme.Light,
        });
        var page = await context.NewPageAsync();
        email ??= $"{name.Split(' ')[0].ToLowerInvariant()}-{Guid.NewGuid():N}"[..20] + "@example.com";
        var user = new ChatUser(context, page, server, name, email);
        await page.GotoAsync(server.Url().ToString());
        return user;
    }

    public async Task RegisterAsync()
    {
        await Page.GetByRole(AriaRole.Button, new() { Name = "Create an account" }).ClickAsync();
        await Page.GetByLabel("Your name").FillAsync(Name);
        await Page.GetByLabel("Email").FillAsync(Email);
        await Page.GetByLabel("Password").FillAsync(Password);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Create account", Exact = true }).ClickAsync();
        await ExpectSignedInAsync();
    }

    public async Task SignInAsync()
    {
        await Page.GetByLabel("Email").FillAsync(Email);
        await Page.GetByLabel("Password").FillAsync(Password);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await ExpectSignedInAsync();
    }

    public async Task ExpectSignedInAsync()
    {
        await Expect(Page.GetByRole(AriaRole.Button, new() { Name = "New chat" })).ToBeVisibleAsync();
        await ExpectConnectedAsync();
    }

    public Task ExpectConnectedAsync() => Expect(Page.Locator(".connection-banner")).ToBeHiddenAsync();

    public Task ExpectConnectingAsync() => Expect(Page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Connecting…" })).ToBeVisibleAsync();

    /// <summary>New chat → search by name → pick the person; the conversation opens.</summary>
    public async Task StartChatWithAsync(ChatUser other)
    {
        await Page.GetByRole(AriaRole.Button, new() { Name = "New chat" }).ClickAsync();
        var dialog = Page.GetByRole(AriaRole.Dialog, new() { Name = "New chat" });
        await SearchPeopleAsync(dialog, "Search people by name or email", other.Name);
        await dialog.Locator("button.person", new() { HasText = other.Email }).ClickAsync();
        await ExpectClosedAsync(dialog);
        await ExpectConversationAsync(other.Name);
    }

    /// <summary>Types into a dialog's people search and waits until its list answers what was typed:
    /// a click on a list still being reordered may land on the row that slid under the pointer.</summary>
    public static async Task SearchPeopleAsync(ILocator dialog, string label, string text)
    {
        await dialog.GetByLabel(label).FillAsync(text);
        await Expect(dialog.GetByRole(AriaRole.List, new() { Name = "People", Exact = true })).ToHaveAttributeAsync("aria-busy", "false");
    }

    /// <summary>Moves the mouse to the middle of <paramref name="target"/> and presses the button (the
    /// caller releases it). A list redrawn at that moment detaches the element found, so it is found
    /// again.</summary>
    public async Task PressAsync(ILocator target)
    {
        for (var attempt = 1; ; attempt++)
        {
            await Expect(target).ToBeVisibleAsync();
            if (await target.BoundingBoxAsync() is { } box)
            {
                await Page.Mouse.MoveAsync(box.X + box.Width / 2, box.Y + box.Height / 2);
                await Page.Mouse.DownAsync();
                return;
            }
            if (attempt == 10) throw new InvalidOperationException("The element to press never stayed in place long enough to be found.");
        }
    }

    /// <summary>Waits for a dialog to close; when it stays open, the failure says what it shows
    /// (an error line from the server, most likely).</summary>
    public static async Task ExpectClosedAsync(ILocator dialog)
    {
        try
        {
            await Expect(dialog).ToBeHiddenAsync();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            string shown;
            try { shown = await dialog.InnerTextAsync(new() { Timeout = 2000 }); }
            catch (PlaywrightException) { shown = "(nothing readable)"; }
            throw new Exception($"{e.Message}\nThe dialog still shows: {shown}", e);
        }
    }

    /// <summary>New group → name it → pick each member by name; the group's conversation opens.</summary>
    public async Task CreateGroupAsync(string name, params ChatUser[] members)
    {
        await Page.GetByRole(AriaRole.Button, new() { Name = "New group" }).ClickAsync();
        var dialog = Page.GetByRole(AriaRole.Dialog, new() { Name = "New group" });
        await dialog.GetByLabel("Group name").FillAsync(name);
        foreach (var member in members)
        {
            await SearchPeopleAsync(dialog, "Search people to add", member.Name.Split(' ')[0]);
            await dialog.Locator("label.person", new() { HasText = member.Email }).Locator("input[type=checkbox]").CheckAsync();
        }
        await Expect(dialog.GetByRole(AriaRole.List, new() { Name = "Selected members" }).GetByRole(AriaRole.Listitem)).ToHaveCountAsync(members.Length);
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Create group" }).ClickAsync();
        await ExpectClosedAsync(dialog);
        await ExpectConversationAsync(name);
    }

    public Task ExpectConversationAsync(string title) =>
        Expect(Page.Locator(".conv-header .conv-name")).ToHaveTextAsync(title);

    public ILocator ChatItem(string name) => Page.Locator(".chat-item", new() { Has = Page.Locator(".chat-name", new() { HasTextRegex = new Regex("^" + Regex.Escape(name) + "$") }) });

    public async Task OpenChatAsync(string name)
    {
        await ChatItem(name).ClickAsync();
        await ExpectConversationAsync(name);
    }

    public ILocator Composer => Page.GetByRole(AriaRole.Textbox, new() { Name = "Type a message" });

    public async Task SendAsync(string text)
    {
        await Composer.FillAsync(text);
        await Composer.PressAsync("Enter");
        await Expect(Composer).ToHaveValueAsync("");
    }

    /// <summary>A message bubble (or system line) in the open conversation whose text is exactly this.</summary>
    public ILocator Message(string text) =>
        Page.Locator(".message-list > .msg-row", new() { Has = Page.Locator(".text", new() { HasTextRegex = new Regex("^" + Regex.Escape(text) + "$") }) });

    public ILocator SystemLine(string text) => Page.Locator(".message-list .system", new() { HasText = text });

    public Task ExpectTicksAsync(string text, string status) =>
        Expect(Message(text).Locator(".ticks")).ToHaveAttributeAsync("data-status", status);

    public ILocator HeaderStatus => Page.Locator(".conv-header .conv-sub");

    /// <summary>Another tab of the same browser: it shares the session.</summary>
    public async Task<IPage> NewTabAsync()
    {
        var tab = await _context.NewPageAsync();
        tab.PageError += (_, error) => ConsoleErrors.Add(error);
        await tab.GotoAsync(_server.Url().ToString());
        return tab;
    }

    public Task ScreenshotAsync(string name) => Page.ScreenshotAsync(new() { Path = Paths.Screenshot(name) });

    /// <summary>Closes this person's browser (their sockets close; presence goes offline).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Closed) return;
        Closed = true;
        await _context.CloseAsync();
    }
}
