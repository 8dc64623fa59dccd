using Microsoft.Playwright;
using Parley.BrowserTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Parley.BrowserTests;

/// <summary>A phone shows the list or the conversation, one at a time; the keyboard alone can chat.</summary>
[Collection(BrowserCollection.Name)]
public sealed class LayoutTests(BrowserFixture browser)
{
    private static readonly ViewportSize Phone = new() { Width = 390, Height = 844 };

    [Fact(Timeout = Limits.TestMs)]
    public Task On_a_phone_the_list_and_the_conversation_take_turns() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker", Phone);
        await alice.StartChatWithAsync(bob);
        await alice.SendAsync("Hi on your phone");

        var list = bob.Page.Locator(".sidebar");
        var conversation = bob.Page.Locator(".main-pane");
        await Expect(bob.ChatItem("Alice Archer")).ToContainTextAsync("Hi on your phone");
        await Expect(list).ToBeVisibleAsync();
        await Expect(conversation).ToBeHiddenAsync();
        await bob.ScreenshotAsync("09-phone-list");

        await bob.OpenChatAsync("Alice Archer");
        await Expect(list).ToBeHiddenAsync();
        await Expect(conversation).ToBeVisibleAsync();
        await bob.SendAsync("Replying from my phone");
        await Expect(alice.Message("Replying from my phone")).ToBeVisibleAsync();
        await alice.ExpectTicksAsync("Hi on your phone", "read");
        await bob.ScreenshotAsync("10-phone-conversation");

        await bob.Page.GetByRole(AriaRole.Button, new() { Name = "Back to chats" }).ClickAsync();
        await Expect(list).ToBeVisibleAsync();
        await Expect(conversation).ToBeHiddenAsync();
        await Expect(bob.ChatItem("Alice Archer")).ToContainTextAsync("Replying from my phone");
    });

    [Fact(Timeout = Limits.TestMs)]
    public Task The_keyboard_alone_opens_a_chat_and_sends() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        var carol = await s.RegisterAsync("Carol Cooper");
        await alice.StartChatWithAsync(bob);
        await alice.SendAsync("To Bob");
        await alice.StartChatWithAsync(carol);
        await alice.SendAsync("To Carol");
        await alice.Page.Keyboard.PressAsync("Escape");

        // Focus the first chat, arrow down to the next, Enter opens it with the composer focused.
        await alice.ChatItem("Carol Cooper").FocusAsync();
        await alice.Page.Keyboard.PressAsync("ArrowDown");
        await Expect(alice.ChatItem("Bob Baker")).ToBeFocusedAsync();
        await alice.Page.Keyboard.PressAsync("Enter");
        await alice.ExpectConversationAsync("Bob Baker");
        await Expect(alice.Composer).ToBeFocusedAsync();
        await alice.Page.Keyboard.TypeAsync("Typed without a mouse");
        await alice.Page.Keyboard.PressAsync("Enter");
        await Expect(bob.ChatItem("Alice Archer")).ToContainTextAsync("Typed without a mouse");
        await alice.ExpectTicksAsync("Typed without a mouse", "delivered");
        await alice.ScreenshotAsync("11-two-chats");

        // The new chat dialog: Escape closes it and gives focus back.
        var newChat = alice.Page.GetByRole(AriaRole.Button, new() { Name = "New chat" });
        await newChat.FocusAsync();
        await alice.Page.Keyboard.PressAsync("Enter");
        var dialog = alice.Page.GetByRole(AriaRole.Dialog, new() { Name = "New chat" });
        await Expect(dialog.GetByLabel("Search people by name or email")).ToBeFocusedAsync();
        await alice.Page.Keyboard.PressAsync("Escape");
        await Expect(dialog).ToBeHiddenAsync();
        await Expect(newChat).ToBeFocusedAsync();
    });
}
