using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Parley.BrowserTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Parley.BrowserTests.Features;

/// <summary>The contact panel with block and unblock; notifications and their sound.</summary>
[Collection(BrowserCollection.Name)]
public sealed class ContactAndNotificationTests(BrowserFixture browser)
{
    [Fact(Timeout = Limits.TestMs)]
    public Task The_chat_header_opens_the_contact_with_about_and_shared_groups_and_blocks_and_unblocks() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        await bob.Page.GetByRole(AriaRole.Button, new() { Name = "Your profile" }).ClickAsync();
        var profile = bob.Page.GetByRole(AriaRole.Dialog, new() { Name = "Your profile" });
        await profile.GetByLabel("About").FillAsync("Gone fishing");
        await profile.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Expect(profile).ToBeHiddenAsync();

        await alice.CreateGroupAsync("Anglers", bob);
        await alice.StartChatWithAsync(bob);
        await alice.SendAsync("Hi Bob");

        await alice.Page.GetByRole(AriaRole.Button, new() { Name = "Chat info" }).ClickAsync();
        var info = alice.Page.GetByRole(AriaRole.Dialog, new() { Name = "Contact info" });
        await Expect(info.Locator(".contact-name")).ToHaveTextAsync("Bob Baker");
        await Expect(info.Locator(".about-text")).ToHaveTextAsync("Gone fishing");
        await Expect(info.GetByRole(AriaRole.List, new() { Name = "Groups in common" }).Locator(".person-name")).ToHaveTextAsync(["Anglers"]);
        await alice.ScreenshotAsync("14-contact-info");

        await info.GetByRole(AriaRole.Button, new() { Name = "Block Bob Baker" }).ClickAsync();
        await Expect(info.GetByRole(AriaRole.Button, new() { Name = "Unblock Bob Baker" })).ToBeVisibleAsync();
        await alice.Page.Keyboard.PressAsync("Escape");
        await Expect(alice.Page.Locator(".blocked-bar")).ToContainTextAsync("You blocked Bob Baker.");
        await Expect(alice.Composer).ToBeHiddenAsync();

        // Bob's message does not reach Alice while she blocks him.
        await bob.OpenChatAsync("Alice Archer");
        await bob.SendAsync("Are you there?");
        await Expect(bob.Page.Locator(".msg-row.failed")).ToHaveCountAsync(1);
        await Expect(alice.Message("Are you there?")).ToHaveCountAsync(0);

        // A reload still knows (the server keeps the block); unblocking brings the composer back.
        await alice.Page.ReloadAsync();
        await alice.ExpectSignedInAsync();
        await alice.Page.GetByRole(AriaRole.Button, new() { Name = "Chat info" }).ClickAsync();
        await alice.Page.GetByRole(AriaRole.Dialog, new() { Name = "Contact info" }).GetByRole(AriaRole.Button, new() { Name = "Unblock Bob Baker" }).ClickAsync();
        await alice.Page.Keyboard.PressAsync("Escape");
        await Expect(alice.Composer).ToBeVisibleAsync();
        await alice.SendAsync("Unblocked");
        await Expect(bob.Message("Unblocked")).ToBeVisibleAsync();
    });

    [Fact(Timeout = Limits.TestMs)]
    public Task Someone_who_blocked_you_cannot_be_started_a_chat_with_and_the_dialog_says_why() => Scenario.RunAsync(browser, async s =>
    {
        var bob = await s.RegisterAsync("Bob Baker");
        var carol = await s.RegisterAsync("Carol Clark");
        var carolId = await carol.Page.EvaluateAsync<string>(
            "async () => (await (await fetch('/users/me', { headers: { authorization: 'Bearer ' + JSON.parse(localStorage.getItem('parley.session')).accessToken } })).json()).id");
        using (var rest = new RestClient(s.Server))
        {
            await rest.PostAsync(await bob.AccessTokenAsync(), $"/users/{carolId}/block", new { });
        }

        await carol.Page.GetByRole(AriaRole.Button, new() { Name = "New chat" }).ClickAsync();
        var dialog = carol.Page.GetByRole(AriaRole.Dialog, new() { Name = "New chat" });
        await ChatUser.SearchPeopleAsync(dialog, "Search people by name or email", bob.Name);
        await dialog.Locator("button.person", new() { HasText = bob.Email }).ClickAsync();
        await Expect(dialog.GetByRole(AriaRole.Alert)).ToHaveTextAsync("This user does not accept your messages.");
        await carol.Page.Keyboard.PressAsync("Escape");
        await Expect(carol.ChatItem("Bob Baker")).ToHaveCountAsync(0);
        await Expect(bob.ChatItem("Carol Clark")).ToHaveCountAsync(0);
    });

    [Fact(Timeout = Limits.TestMs)]
    public Task A_message_to_a_chat_not_on_screen_shows_a_notification_and_plays_a_sound() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        var carol = await s.RegisterAsync("Carol Cooper");
        await alice.StartChatWithAsync(carol);
        await bob.StartChatWithAsync(alice);
        await bob.SendAsync("Hello");

        // Observe what the page asks of the browser: notifications shown and sounds started.
        await alice.Page.Context.GrantPermissionsAsync(["notifications"]);
        await alice.Page.AddInitScriptAsync(@"(() => {
            window.__shown = [];
            window.__sounds = 0;
            const Real = window.Notification;
            window.Notification = class extends Real {
                constructor(title, options) { super(title, options); window.__shown.push({ title, body: options?.body, tag: options?.tag }); }
            };
            const start = OscillatorNode.prototype.start;
            OscillatorNode.prototype.start = function (...args) { window.__sounds++; return start.apply(this, args); };
        })()");
        await alice.Page.ReloadAsync();
        await alice.ExpectSignedInAsync();
        await alice.OpenChatAsync("Carol Cooper");

        await bob.SendAsync("Dinner at eight?");
        await alice.Page.WaitForFunctionAsync("() => window.__shown.length > 0");
        var shown = await alice.Page.EvaluateAsync<Dictionary<string, string>[]>("() => window.__shown");
        Assert.Equal("Bob Baker", shown[0]["title"]);
        Assert.Equal("Dinner at eight?", shown[0]["body"]);
        Assert.True(await alice.Page.EvaluateAsync<int>("() => window.__sounds") > 0);

        // A message in the chat on screen makes no notification.
        await carol.OpenChatAsync("Alice Archer");
        await carol.SendAsync("In the open chat");
        await Expect(alice.Message("In the open chat")).ToBeVisibleAsync();
        Assert.Single(await alice.Page.EvaluateAsync<object[]>("() => window.__shown"));
    });

    [Fact(Timeout = Limits.TestMs)]
    public Task The_notifications_banner_asks_for_permission_once() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var banner = alice.Page.Locator(".notify-banner");
        await Expect(banner).ToBeVisibleAsync();
        await alice.Page.Context.GrantPermissionsAsync(["notifications"]);
        await banner.GetByRole(AriaRole.Button, new() { Name = "Turn on notifications" }).ClickAsync();
        await Expect(banner).ToBeHiddenAsync();
        Assert.Equal("granted", await alice.Page.EvaluateAsync<string>("() => Notification.permission"));
        await alice.Page.ReloadAsync();
        await alice.ExpectSignedInAsync();
        await Expect(banner).ToBeHiddenAsync();
    });
}
