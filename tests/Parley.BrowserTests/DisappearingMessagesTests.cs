using Microsoft.Playwright;
using Parley.BrowserTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Parley.BrowserTests;

/// <summary>Disappearing messages: one side turns the timer on, both see it announced, and a message
/// sent under it leaves both screens when its time runs out.</summary>
[Collection(BrowserCollection.Name)]
public sealed class DisappearingMessagesTests(BrowserFixture browser)
{
    [Fact(Timeout = Limits.TestMs)]
    public Task A_message_sent_under_the_timer_disappears_from_both_screens_when_its_time_runs_out() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        await alice.StartChatWithAsync(bob);
        await alice.SendAsync("This one stays");
        await bob.OpenChatAsync("Alice Archer");
        await Expect(bob.Message("This one stays")).ToBeVisibleAsync();

        await alice.Page.GetByRole(AriaRole.Button, new() { Name = "Disappearing messages" }).ClickAsync();
        var dialog = alice.Page.GetByRole(AriaRole.Dialog, new() { Name = "Disappearing messages" });
        await Expect(dialog.GetByLabel("Off")).ToBeCheckedAsync();
        // A click, not Check: choosing closes the dialog, and Check would wait to see the radio checked.
        await dialog.GetByLabel("24 hours").ClickAsync();
        await Expect(dialog).ToBeHiddenAsync();
        await Expect(alice.SystemLine("You turned on disappearing messages: new messages disappear after 24 hours")).ToBeVisibleAsync();
        await Expect(bob.SystemLine("Alice Archer turned on disappearing messages: new messages disappear after 24 hours")).ToBeVisibleAsync();
        await Expect(bob.Page.Locator(".timer-button.on")).ToHaveAttributeAsync("title", "Disappearing messages: 24 hours");

        await alice.SendAsync("This one vanishes");
        await Expect(bob.Message("This one vanishes")).ToBeVisibleAsync();
        await bob.ScreenshotAsync("20-disappearing-messages");

        s.Server.Clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        await Expect(bob.Message("This one vanishes")).ToHaveCountAsync(0);
        await Expect(alice.Message("This one vanishes")).ToHaveCountAsync(0);
        await Expect(bob.Message("This one stays")).ToBeVisibleAsync();
        await Expect(alice.ChatItem("Bob Baker")).Not.ToContainTextAsync("This one vanishes");

        // A reload shows the same: the message is gone from history too.
        await bob.Page.ReloadAsync();
        await bob.OpenChatAsync("Alice Archer");
        await Expect(bob.Message("This one stays")).ToBeVisibleAsync();
        await Expect(bob.Message("This one vanishes")).ToHaveCountAsync(0);
    });
}
