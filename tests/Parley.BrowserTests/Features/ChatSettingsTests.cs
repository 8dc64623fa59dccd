using Microsoft.Playwright;
using Parley.BrowserTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Parley.BrowserTests.Features;

/// <summary>Mute, pin and archive from the chat's options, kept by the server for every device.</summary>
[Collection(BrowserCollection.Name)]
public sealed class ChatSettingsTests(BrowserFixture browser)
{
    private static async Task ChooseAsync(ChatUser user, string chat, string item)
    {
        await user.OpenChatAsync(chat);
        await user.Page.GetByRole(AriaRole.Button, new() { Name = "Chat options" }).ClickAsync();
        await user.Page.GetByRole(AriaRole.Menu, new() { Name = "Chat options" }).GetByRole(AriaRole.Menuitem, new() { Name = item }).ClickAsync();
    }

    [Fact(Timeout = Limits.TestMs)]
    public Task Pinned_chats_stay_on_top_archived_ones_move_aside_and_muted_ones_stay_quiet_on_every_device() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        var carol = await s.RegisterAsync("Carol Cooper");
        var dan = await s.RegisterAsync("Dan Dale");
        foreach (var other in new[] { dan, carol, bob })
        {
            await other.StartChatWithAsync(alice);
            await other.SendAsync($"Hi from {other.Name.Split(' ')[0]}");
            await Expect(alice.ChatItem(other.Name)).ToBeVisibleAsync();
        }
        var names = alice.Page.Locator(".chat-item .chat-name");
        await Expect(names).ToHaveTextAsync(["Bob Baker", "Carol Cooper", "Dan Dale"]);

        await ChooseAsync(alice, "Dan Dale", "Pin chat");
        await Expect(names).ToHaveTextAsync(["Dan Dale", "Bob Baker", "Carol Cooper"]);
        await Expect(alice.ChatItem("Dan Dale").GetByRole(AriaRole.Img, new() { Name = "Pinned" })).ToBeVisibleAsync();

        await ChooseAsync(alice, "Carol Cooper", "Archive chat");
        await Expect(names).ToHaveTextAsync(["Dan Dale", "Bob Baker"]);
        await alice.Page.GetByRole(AriaRole.Button, new() { Name = "Archived (1)" }).ClickAsync();
        await Expect(names).ToHaveTextAsync(["Carol Cooper"]);
        await alice.Page.GetByRole(AriaRole.Button, new() { Name = "Archived chats" }).ClickAsync();

        await ChooseAsync(alice, "Bob Baker", "Mute notifications");
        await Expect(alice.ChatItem("Bob Baker").GetByRole(AriaRole.Img, new() { Name = "Muted" })).ToBeVisibleAsync();
        await alice.ScreenshotAsync("20-pinned-muted-archived");

        // Another device of Alice's agrees (the settings are the server's).
        var tab = await alice.NewTabAsync();
        await Expect(tab.Locator(".chat-item .chat-name")).ToHaveTextAsync(["Dan Dale", "Bob Baker"]);
        await Expect(tab.Locator(".chat-item", new() { HasText = "Bob Baker" }).GetByRole(AriaRole.Img, new() { Name = "Muted" })).ToBeVisibleAsync();
        await Expect(tab.GetByRole(AriaRole.Button, new() { Name = "Archived (1)" })).ToBeVisibleAsync();

        // Muted: a message from Bob makes no notification and no sound; Dan's does.
        await alice.Page.Context.GrantPermissionsAsync(["notifications"]);
        await alice.Page.AddInitScriptAsync(@"(() => {
            window.__shown = [];
            const Real = window.Notification;
            window.Notification = class extends Real {
                constructor(title, options) { super(title, options); window.__shown.push(title); }
            };
        })()");
        await alice.Page.ReloadAsync();
        await alice.ExpectSignedInAsync();
        await alice.Page.Keyboard.PressAsync("Escape");
        await bob.SendAsync("Muted hello");
        await Expect(alice.ChatItem("Bob Baker")).ToContainTextAsync("Muted hello");
        await dan.SendAsync("Loud hello");
        await alice.Page.WaitForFunctionAsync("() => window.__shown.length > 0");
        Assert.Equal(["Dan Dale"], await alice.Page.EvaluateAsync<string[]>("() => window.__shown"));

        // Unmute, unpin, unarchive.
        await ChooseAsync(alice, "Bob Baker", "Unmute notifications");
        await Expect(alice.ChatItem("Bob Baker").GetByRole(AriaRole.Img, new() { Name = "Muted" })).ToHaveCountAsync(0);
        await ChooseAsync(alice, "Dan Dale", "Unpin chat");
        await alice.Page.GetByRole(AriaRole.Button, new() { Name = "Archived (1)" }).ClickAsync();
        await ChooseAsync(alice, "Carol Cooper", "Unarchive chat");
        await Expect(alice.Page.GetByRole(AriaRole.Button, new() { Name = "Archived chats" })).ToHaveCountAsync(0);
        await Expect(names).ToHaveTextAsync(["Dan Dale", "Bob Baker", "Carol Cooper"]);
    });
}
