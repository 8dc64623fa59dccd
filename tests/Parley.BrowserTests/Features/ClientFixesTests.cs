using Microsoft.Playwright;
using Parley.BrowserTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Parley.BrowserTests.Features;

/// <summary>Avatars with photos, live profile changes, signing out with unsent messages, Escape,
/// text contrast, no access token in a WebSocket URL, and lists (people search, chats) that keep a
/// pressed row in place.</summary>
[Collection(BrowserCollection.Name)]
public sealed class ClientFixesTests(BrowserFixture browser)
{
    private static async Task SetPhotoAsync(ChatUser user)
    {
        await user.Page.GetByRole(AriaRole.Button, new() { Name = "Your profile" }).ClickAsync();
        var dialog = user.Page.GetByRole(AriaRole.Dialog, new() { Name = "Your profile" });
        await dialog.Locator("input[type=file]").SetInputFilesAsync(new FilePayload { Name = "me.png", MimeType = "image/png", Buffer = ClientActions.Png });
        await Expect(dialog.Locator(".avatar img")).ToHaveCountAsync(1);
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Close" }).ClickAsync();
    }

    [Fact(Timeout = Limits.TestMs)]
    public Task A_photo_keeps_the_online_dot_and_the_header_height_and_profile_changes_show_at_once() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        var carol = await s.RegisterAsync("Carol Cooper");
        await alice.StartChatWithAsync(carol);
        var headerWithInitials = await alice.Page.Locator(".conv-header").EvaluateAsync<double>("h => h.getBoundingClientRect().height");
        await alice.StartChatWithAsync(bob);
        await alice.SendAsync("Hi Bob");

        // Bob sets a photo: Alice sees it at once (no reload), with the online dot still there.
        await SetPhotoAsync(bob);
        var item = alice.ChatItem("Bob Baker");
        await Expect(item.Locator(".avatar img")).ToHaveCountAsync(1);
        await Expect(item.Locator(".avatar .presence-dot")).ToHaveCountAsync(1);
        var header = alice.Page.Locator(".conv-header");
        await Expect(header.Locator(".avatar img")).ToHaveCountAsync(1);
        await Expect(header.Locator(".avatar .presence-dot")).ToHaveCountAsync(1);
        Assert.Equal(headerWithInitials, await header.EvaluateAsync<double>("h => h.getBoundingClientRect().height"));

        // A new name shows in the list, the header and old group lines, without a reload.
        await alice.CreateGroupAsync("Team", bob);
        await bob.OpenChatAsync("Team");
        await bob.SendAsync("Bob here");
        await Expect(alice.Message("Bob here").Locator(".sender")).ToHaveTextAsync("Bob Baker");

        await bob.Page.GetByRole(AriaRole.Button, new() { Name = "Your profile" }).ClickAsync();
        var profile = bob.Page.GetByRole(AriaRole.Dialog, new() { Name = "Your profile" });
        await profile.GetByLabel("Your name").FillAsync("Robert Baker");
        await profile.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Expect(alice.Message("Bob here").Locator(".sender")).ToHaveTextAsync("Robert Baker");
        await Expect(alice.ChatItem("Robert Baker")).ToHaveCountAsync(1);
        await alice.OpenChatAsync("Robert Baker");
        await Expect(alice.Page.Locator(".conv-header .conv-name")).ToHaveTextAsync("Robert Baker");
        Assert.Empty(alice.ConsoleErrors);
    });

    [Fact(Timeout = Limits.TestMs)]
    public Task Signing_out_with_unsent_messages_warns_and_sends_them_at_the_next_sign_in() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        await alice.StartChatWithAsync(bob);
        await alice.SendAsync("Sent while online");
        await alice.ExpectTicksAsync("Sent while online", "delivered");

        await alice.Page.Context.SetOfflineAsync(true);
        await alice.ExpectConnectingAsync();
        await alice.SendAsync("Written offline");
        await alice.ExpectTicksAsync("Written offline", "pending");

        await alice.Page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        var warning = alice.Page.GetByRole(AriaRole.Dialog, new() { Name = "Sign out?" });
        await Expect(warning).ToContainTextAsync("1 message has not been sent yet.");
        await alice.ScreenshotAsync("19-sign-out-warning");
        // Staying keeps everything as it was.
        await warning.GetByRole(AriaRole.Button, new() { Name = "Stay signed in" }).ClickAsync();
        await alice.ExpectTicksAsync("Written offline", "pending");
        await alice.Page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await alice.Page.GetByRole(AriaRole.Dialog, new() { Name = "Sign out?" }).GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(alice.Page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" })).ToBeVisibleAsync();

        await alice.Page.Context.SetOfflineAsync(false);
        await alice.SignInAsync();
        await bob.OpenChatAsync("Alice Archer");
        await Expect(bob.Message("Written offline")).ToBeVisibleAsync();
        await alice.OpenChatAsync("Bob Baker");
        await alice.ExpectTicksAsync("Written offline", "read");
    });

    [Fact(Timeout = Limits.TestMs)]
    public Task Escape_closes_the_conversation_and_focus_lands_on_its_chat_in_the_list() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        await alice.StartChatWithAsync(bob);
        await Expect(alice.Composer).ToBeFocusedAsync();
        await alice.Page.Keyboard.PressAsync("Escape");
        await Expect(alice.Page.Locator(".conversation")).ToBeHiddenAsync();
        await Expect(alice.ChatItem("Bob Baker")).ToBeFocusedAsync();
        Assert.NotEqual("BODY", await alice.Page.EvaluateAsync<string>("() => document.activeElement.tagName"));
    });

    /// <summary>Every visible piece of text against the colour behind it (WCAG contrast ratio).</summary>
    private const string LowContrastScript = @"() => {
        const parse = c => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null; const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number); return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 }; };
        const lum = ({ r, g, b }) => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
        const blend = (top, under) => ({ r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a), b: top.b * top.a + under.b * (1 - top.a), a: 1 });
        const background = node => {
            const layers = [];
            for (let n = node; n && n.nodeType === 1; n = n.parentElement) { const c = parse(getComputedStyle(n).backgroundColor); if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; } }
            let color = { r: 255, g: 255, b: 255, a: 1 };
            for (const layer of layers.reverse()) color = blend(layer, color);
            return color;
        };
        const low = [];
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        while (walker.nextNode()) {
            const text = walker.currentNode; const el = text.parentElement;
            if (!text.textContent.trim() || !el || !el.checkVisibility({ opacityProperty: true, visibilityProperty: true })) continue;
            const rect = el.getBoundingClientRect(); if (rect.width === 0 || rect.height === 0) continue;
            if (el.closest('.avatar, [aria-hidden=true], .viewer')) continue;
            const style = getComputedStyle(el); const fg = parse(style.color); const bg = background(el);
            const color = blend(fg, bg); const [a, b] = [lum(color), lum(bg)];
            const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
            if (ratio < 4.5) low.push(`${ratio.toFixed(2)} ${style.color} on rgb(${bg.r|0},${bg.g|0},${bg.b|0}): ${el.className} '${text.textContent.trim().slice(0, 30)}'`);
        }
        return [...new Set(low)];
    }";

    [Fact(Timeout = Limits.TestMs)]
    public Task All_text_has_a_contrast_of_at_least_4_5_to_1_in_light_and_dark() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        await alice.StartChatWithAsync(bob);
        await alice.SendAsync("Hello *Bob*, see https://example.com");
        await bob.StartChatWithAsync(alice);
        await bob.SendAsync("Hi Alice");
        await bob.ChooseFromMenuAsync("Hello Bob, see https://example.com", "Reply");
        await bob.SendAsync("A reply");
        await Expect(alice.Message("A reply")).ToBeVisibleAsync();
        await alice.Page.Locator(".messages").EvaluateAsync("box => box.scrollTop = 0");
        await alice.Page.GetByLabel("Search chats and messages").FillAsync("hello");
        await Expect(alice.Page.Locator(".search-result")).ToHaveCountAsync(1);
        // Offline: the connecting banner and header are text too.
        await alice.Page.Context.SetOfflineAsync(true);
        await alice.ExpectConnectingAsync();

        foreach (var scheme in new[] { ColorScheme.Light, ColorScheme.Dark })
        {
            await alice.Page.EmulateMediaAsync(new() { ColorScheme = scheme });
            await bob.Page.EmulateMediaAsync(new() { ColorScheme = scheme });
            var low = (await alice.Page.EvaluateAsync<string[]>(LowContrastScript)).Concat(await bob.Page.EvaluateAsync<string[]>(LowContrastScript)).ToList();
            Assert.True(low.Count == 0, $"{scheme}: text below 4.5:1\n" + string.Join("\n", low));
        }
        await alice.Page.Context.SetOfflineAsync(false);
    });

    [Fact(Timeout = Limits.TestMs)]
    public Task A_websocket_that_fails_puts_no_access_token_in_the_console_or_its_address() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var console = new List<string>();
        var sockets = new List<string>();
        alice.Page.Console += (_, message) => console.Add(message.Text);
        alice.Page.WebSocket += (_, socket) => sockets.Add(socket.Url);
        var token = await alice.AccessTokenAsync();

        await s.Server.StopAsync();
        await alice.ExpectConnectingAsync();
        await s.Server.StartAgainAsync();
        await alice.ExpectConnectedAsync();

        Assert.NotEmpty(sockets);
        Assert.All(sockets, url => Assert.DoesNotContain("token=", url));
        Assert.All(sockets, url => Assert.Contains("ticket=", url));
        // Not the whole token, nor a piece of it (a console may shorten a long URL).
        var piece = token[^32..];
        Assert.DoesNotContain(console, line => line.Contains(piece, StringComparison.Ordinal));
    });

    [Fact(Timeout = Limits.TestMs)]
    public Task A_person_pressed_in_the_search_list_is_picked_though_a_new_answer_comes_before_the_release() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        await alice.Page.GetByRole(AriaRole.Button, new() { Name = "New chat" }).ClickAsync();
        var dialog = alice.Page.GetByRole(AriaRole.Dialog, new() { Name = "New chat" });
        const string label = "Search people by name or email";
        await ChatUser.SearchPeopleAsync(dialog, label, bob.Email);
        await alice.PressAsync(dialog.Locator("button.person", new() { HasText = bob.Email }));

        // While the button is held, a search typed a moment earlier answers: no one matches it.
        var answer = alice.Page.WaitForResponseAsync(r => r.Url.Contains("/users?search=nobody-matches"));
        await dialog.GetByLabel(label).EvaluateAsync("input => { input.value = 'nobody-matches'; input.dispatchEvent(new Event('input')); }");
        await (await answer).FinishedAsync();
        await alice.Page.EvaluateAsync("() => new Promise(done => requestAnimationFrame(() => setTimeout(done)))");

        // Bob's row stayed under the pointer, so the release picks him.
        await alice.Page.Mouse.UpAsync();
        await ChatUser.ExpectClosedAsync(dialog);
        await alice.ExpectConversationAsync("Bob Baker");
    });

    [Fact(Timeout = Limits.TestMs)]
    public Task A_chat_pressed_in_the_list_opens_though_a_message_from_another_chat_comes_before_the_release() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        var carol = await s.RegisterAsync("Carol Cooper");
        await alice.StartChatWithAsync(bob);
        await alice.SendAsync("Hello Bob");
        await alice.StartChatWithAsync(carol);
        await alice.SendAsync("Hello Carol");
        await carol.ChatItem("Alice Archer").ClickAsync();
        await carol.ExpectConversationAsync("Alice Archer");

        await alice.PressAsync(alice.ChatItem("Bob Baker"));

        // While the button is held, Carol's message reaches Alice's page, which would redraw the list.
        await carol.SendAsync("News from Carol");
        await carol.ExpectTicksAsync("News from Carol", "read"); // Alice has Carol's chat open
        await alice.Page.EvaluateAsync("() => new Promise(done => requestAnimationFrame(() => setTimeout(done)))");

        // The release opens the chat that was pressed; then the list shows Carol's message.
        await alice.Page.Mouse.UpAsync();
        await alice.ExpectConversationAsync("Bob Baker");
        await Expect(alice.ChatItem("Carol Cooper")).ToContainTextAsync("News from Carol");
    });
}
