using Microsoft.Playwright;
using Parley.BrowserTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Parley.BrowserTests;

/// <summary>Two people in two browsers: sign up, start a chat, talk; ticks, typing, presence, unread badges.</summary>
[Collection(BrowserCollection.Name)]
public sealed class ConversationTests(BrowserFixture browser)
{
    [Fact(Timeout = Limits.TestMs)]
    public Task Two_people_chat_and_see_ticks_advance_to_read_and_each_other_typing() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");

        await alice.StartChatWithAsync(bob);
        await Expect(alice.HeaderStatus).ToHaveTextAsync("online");
        await alice.SendAsync("Hello Bob!");

        // Bob's client receives it and reports it delivered, though he has not opened the chat.
        await Expect(bob.ChatItem("Alice Archer")).ToContainTextAsync("Hello Bob!");
        await Expect(bob.ChatItem("Alice Archer").Locator(".badge")).ToHaveTextAsync("1");
        await alice.ExpectTicksAsync("Hello Bob!", "delivered");
        await Expect(alice.ChatItem("Bob Baker").Locator(".ticks")).ToHaveAttributeAsync("data-status", "delivered");
        await bob.ScreenshotAsync("03-chat-list-unread");

        // Opening the conversation reads it: the badge goes and Alice's ticks turn blue.
        await bob.OpenChatAsync("Alice Archer");
        await Expect(bob.Message("Hello Bob!")).ToBeVisibleAsync();
        await Expect(bob.ChatItem("Alice Archer").Locator(".badge")).ToHaveCountAsync(0);
        await alice.ExpectTicksAsync("Hello Bob!", "read");

        // Typing shows in Alice's header and chat list, and stops when Bob sends.
        await bob.Composer.PressSequentiallyAsync("Hi Al");
        await Expect(alice.HeaderStatus).ToHaveTextAsync("typing…");
        await Expect(alice.ChatItem("Bob Baker").Locator(".preview")).ToHaveTextAsync("typing…");
        await alice.ScreenshotAsync("04-typing");
        await bob.Composer.PressSequentiallyAsync("ice, good to hear from you");
        await bob.Composer.PressAsync("Enter");

        await Expect(alice.Message("Hi Alice, good to hear from you")).ToBeVisibleAsync();
        await Expect(alice.HeaderStatus).ToHaveTextAsync("online");
        // Alice has the conversation open, so Bob's message is read at once.
        await bob.ExpectTicksAsync("Hi Alice, good to hear from you", "read");

        // Shift+Enter makes a new line; Enter sends.
        await alice.Composer.FillAsync("Line one");
        await alice.Composer.PressAsync("Shift+Enter");
        await alice.Composer.PressSequentiallyAsync("Line two");
        await alice.Composer.PressAsync("Enter");
        await Expect(bob.Message("Line one\nLine two")).ToBeVisibleAsync();
        await alice.ExpectTicksAsync("Line one\nLine two", "read");

        // (Yesterday only when the test runs across midnight.)
        await Expect(alice.Page.Locator(".day-separator").First).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^(Today|Yesterday)$"));
        await alice.ScreenshotAsync("05-conversation");
        await alice.Page.EmulateMediaAsync(new() { ColorScheme = ColorScheme.Dark });
        await alice.ScreenshotAsync("06-conversation-dark");
        await alice.Page.EmulateMediaAsync(new() { ColorScheme = ColorScheme.Light });

        // Presence: when Bob closes his browser, Alice sees "last seen".
        await bob.DisposeAsync();
        await Expect(alice.HeaderStatus).ToContainTextAsync("last seen");
        Assert.Empty(alice.ConsoleErrors);
    });

    [Fact(Timeout = Limits.TestMs)]
    public Task A_message_to_someone_offline_is_sent_then_delivered_and_read_when_they_come_back() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        await bob.DisposeAsync();

        await alice.StartChatWithAsync(bob);
        await Expect(alice.HeaderStatus).ToContainTextAsync("last seen");
        await alice.SendAsync("Are you there?");
        await alice.ExpectTicksAsync("Are you there?", "sent");

        // Bob signs in on a new browser: the message is delivered, then read when he opens it.
        var bobAgain = await s.OpenAsync("Bob Baker", email: bob.Email);
        await bobAgain.SignInAsync();
        await Expect(bobAgain.ChatItem("Alice Archer").Locator(".badge")).ToHaveTextAsync("1");
        await alice.ExpectTicksAsync("Are you there?", "delivered");
        await Expect(alice.HeaderStatus).ToHaveTextAsync("online");
        await bobAgain.OpenChatAsync("Alice Archer");
        await alice.ExpectTicksAsync("Are you there?", "read");
    });
}
