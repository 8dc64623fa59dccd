using Microsoft.Playwright;
using Parley.BrowserTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Parley.BrowserTests.Features;

/// <summary>How text shows (links, *bold* and the rest, never HTML), the length limit, the unread
/// divider and "new messages" while scrolled up, and message search.</summary>
[Collection(BrowserCollection.Name)]
public sealed class TextAndReadingTests(BrowserFixture browser)
{
    [Fact(Timeout = Limits.TestMs)]
    public Task Links_and_markup_render_safely_and_html_stays_text() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        await alice.StartChatWithAsync(bob);
        const string text = "*Bold* _it_ ~gone~ `x < y` see https://example.com/a?b=1, www.parley.test and javascript:alert(1) <img src=x onerror=alert(1)>";
        await alice.SendAsync(text);
        await bob.OpenChatAsync("Alice Archer");
        var bubble = bob.Page.Locator(".message-list .msg-row .text").Last;
        await Expect(bubble).ToHaveTextAsync("Bold it gone x < y see https://example.com/a?b=1, www.parley.test and javascript:alert(1) <img src=x onerror=alert(1)>");
        await Expect(bubble.Locator("strong")).ToHaveTextAsync("Bold");
        await Expect(bubble.Locator("em")).ToHaveTextAsync("it");
        await Expect(bubble.Locator("s")).ToHaveTextAsync("gone");
        await Expect(bubble.Locator("code")).ToHaveTextAsync("x < y");
        var links = bubble.Locator("a");
        await Expect(links).ToHaveCountAsync(2);
        await Expect(links.Nth(0)).ToHaveAttributeAsync("href", "https://example.com/a?b=1");
        await Expect(links.Nth(1)).ToHaveAttributeAsync("href", "https://www.parley.test/");
        foreach (var i in new[] { 0, 1 })
        {
            await Expect(links.Nth(i)).ToHaveAttributeAsync("rel", "noopener noreferrer");
            await Expect(links.Nth(i)).ToHaveAttributeAsync("target", "_blank");
        }
        await Expect(bubble.Locator("img")).ToHaveCountAsync(0);
        Assert.Empty(bob.ConsoleErrors);
    });

    [Fact(Timeout = Limits.TestMs)]
    public Task A_message_over_4096_characters_is_refused_with_a_counter_and_never_cut() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        await alice.StartChatWithAsync(bob);
        var tooLong = new string('a', 4100);
        await alice.Composer.FillAsync(tooLong);
        var counter = alice.Page.Locator(".composer-counter");
        await Expect(counter).ToHaveTextAsync("4,100 / 4,096");
        await Expect(counter).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("over"));
        await Expect(alice.Page.GetByRole(AriaRole.Button, new() { Name = "Send", Exact = true })).ToBeDisabledAsync();
        await alice.Composer.PressAsync("Enter");
        // Nothing was sent and nothing was cut.
        await Expect(alice.Composer).ToHaveValueAsync(tooLong);
        await Expect(alice.Page.Locator(".message-list .msg-row")).ToHaveCountAsync(0);
        await alice.ScreenshotAsync("15-too-long");

        await alice.Composer.PressAsync("End");
        for (var i = 0; i < 4; i++) await alice.Composer.PressAsync("Backspace");
        await Expect(counter).ToHaveTextAsync("4,096 / 4,096");
        await Expect(alice.Page.GetByRole(AriaRole.Button, new() { Name = "Send", Exact = true })).ToBeEnabledAsync();
        await alice.Composer.PressAsync("Enter");
        // Sent: the composer is empty and its counter gone.
        await Expect(alice.Composer).ToHaveValueAsync("");
        await Expect(counter).ToBeHiddenAsync();
        await Expect(bob.ChatItem("Alice Archer")).ToBeVisibleAsync();
        await bob.OpenChatAsync("Alice Archer");
        Assert.Equal(4096, await bob.Page.Locator(".message-list .msg-row .text").Last.EvaluateAsync<int>("n => n.textContent.length"));
    });

    [Fact(Timeout = Limits.TestMs)]
    public Task The_counter_counts_an_emoji_as_one_character_as_the_server_does() => Scenario.RunAsync(browser, async s =>
    {
        const string emoji = "😀";
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        await alice.StartChatWithAsync(bob);
        var counter = alice.Page.Locator(".composer-counter");
        var send = alice.Page.GetByRole(AriaRole.Button, new() { Name = "Send", Exact = true });

        var tooLong = string.Concat(Enumerable.Repeat(emoji, 4097));
        await alice.Composer.FillAsync(tooLong);
        await Expect(counter).ToHaveTextAsync("4,097 / 4,096");
        await Expect(counter).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("over"));
        await Expect(send).ToBeDisabledAsync();
        await alice.Composer.PressAsync("Enter");
        await Expect(alice.Page.Locator(".toast", new() { HasText = "at most 4,096 characters" })).ToBeVisibleAsync();
        await Expect(alice.Composer).ToHaveValueAsync(tooLong);
        await Expect(alice.Page.Locator(".message-list .msg-row")).ToHaveCountAsync(0);

        // 4,096 emoji are 8,192 UTF-16 units, and within the limit.
        var longest = string.Concat(Enumerable.Repeat(emoji, 4096));
        await alice.Composer.FillAsync(longest);
        await Expect(counter).ToHaveTextAsync("4,096 / 4,096");
        await Expect(counter).Not.ToHaveClassAsync(new System.Text.RegularExpressions.Regex("over"));
        await Expect(send).ToBeEnabledAsync();
        await alice.Composer.PressAsync("Enter");
        await Expect(alice.Composer).ToHaveValueAsync("");
        await Expect(counter).ToBeHiddenAsync();
        await Expect(bob.ChatItem("Alice Archer")).ToBeVisibleAsync();
        await bob.OpenChatAsync("Alice Archer");
        var bubble = bob.Page.Locator(".message-list .msg-row .text").Last;
        await Expect(bubble).ToHaveTextAsync(longest);
        Assert.Empty(alice.ConsoleErrors);
    });

    [Fact(Timeout = Limits.TestMs)]
    public Task Unread_messages_open_at_a_divider_and_new_ones_wait_below_while_scrolled_up() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        await alice.StartChatWithAsync(bob);
        var chatId = await alice.OpenChatIdAsync();
        await alice.SeedAsync(s.Server, chatId, Enumerable.Range(1, 30).Select(i => $"Read line {i}"));
        await bob.OpenChatAsync("Alice Archer");
        await Expect(bob.Message("Read line 30")).ToBeVisibleAsync();
        await Expect(bob.ChatItem("Alice Archer").Locator(".badge")).ToHaveCountAsync(0);
        await bob.Page.Keyboard.PressAsync("Escape");
        await Expect(bob.Page.Locator(".conversation")).ToBeHiddenAsync();

        await alice.SeedAsync(s.Server, chatId, Enumerable.Range(1, 25).Select(i => $"Unread line {i}"));
        await Expect(bob.ChatItem("Alice Archer").Locator(".badge")).ToHaveTextAsync("25");

        // Opened at the first unread message, under a divider that counts them.
        await bob.OpenChatAsync("Alice Archer");
        var divider = bob.Page.Locator(".unread-divider");
        await Expect(divider).ToHaveTextAsync("25 unread messages");
        await Expect(divider).ToBeInViewportAsync();
        await Expect(bob.Message("Unread line 1")).ToBeInViewportAsync();
        await Expect(bob.Message("Unread line 25")).Not.ToBeInViewportAsync();
        await bob.ScreenshotAsync("16-unread-divider");

        // Scrolled up, a new message waits behind "1 new message" and is not read.
        await bob.Page.Locator(".messages").EvaluateAsync("box => box.scrollTop = 0");
        await alice.SendAsync("While you were up there");
        var jump = bob.Page.Locator(".jump-button");
        await Expect(jump).ToContainTextAsync("1 new message");
        await alice.ExpectTicksAsync("While you were up there", "delivered");
        await bob.ScreenshotAsync("17-new-messages-below");
        await jump.ClickAsync();
        await Expect(bob.Message("While you were up there")).ToBeInViewportAsync();
        await alice.ExpectTicksAsync("While you were up there", "read");
        await Expect(jump).ToBeHiddenAsync();
    });

    [Fact(Timeout = Limits.TestMs)]
    public Task Search_finds_a_word_in_an_older_page_and_opens_the_chat_at_it() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        await alice.StartChatWithAsync(bob);
        await alice.SendAsync("The code word is pelican");
        // Far more than a page of history after it.
        await alice.SeedAsync(s.Server, await alice.OpenChatIdAsync(), Enumerable.Range(1, 120).Select(i => $"Filler message {i}"));
        await bob.OpenChatAsync("Alice Archer");
        await Expect(bob.Message("Filler message 120")).ToBeVisibleAsync();
        // Bob has read them all; after a reload only the newest page is loaded.
        await Expect(bob.ChatItem("Alice Archer").Locator(".badge")).ToHaveCountAsync(0);
        await bob.Page.ReloadAsync();
        await bob.ExpectSignedInAsync();
        await Expect(bob.Message("Filler message 120")).ToBeVisibleAsync();
        await Expect(bob.Message("The code word is pelican")).ToHaveCountAsync(0);

        await bob.Page.GetByLabel("Search chats and messages").FillAsync("pelic");
        var result = bob.Page.Locator(".search-result");
        await Expect(result).ToHaveCountAsync(1);
        await Expect(result).ToContainTextAsync("The code word is pelican");
        await Expect(result.Locator("mark")).ToHaveTextAsync("pelic");
        await bob.ScreenshotAsync("18-search");
        await result.ClickAsync();
        var found = bob.Message("The code word is pelican");
        await Expect(found).ToBeInViewportAsync();
        await Expect(found).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("flash"));
    });
}
