using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Parley.BrowserTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Parley.BrowserTests.Features;

/// <summary>The message menu: edit, delete for everyone, delete for me, message info.</summary>
[Collection(BrowserCollection.Name)]
public sealed class MessageMenuTests(BrowserFixture browser)
{
    [Fact(Timeout = Limits.TestMs)]
    public Task Edit_and_delete_for_everyone_reach_the_other_side_and_delete_for_me_stays_mine() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        await alice.StartChatWithAsync(bob);
        await alice.SendAsync("See you at 5");
        await alice.SendAsync("This was a mistake");
        await alice.SendAsync("Only I hide this");
        await bob.OpenChatAsync("Alice Archer");
        await Expect(bob.Message("Only I hide this")).ToBeVisibleAsync();

        // Edit: the composer takes the text; Enter saves; Bob sees the new text marked edited.
        await alice.ChooseFromMenuAsync("See you at 5", "Edit");
        await Expect(alice.Composer).ToHaveValueAsync("See you at 5");
        await Expect(alice.Page.Locator(".compose-context")).ToContainTextAsync("Edit message");
        await alice.Composer.FillAsync("See you at 6");
        await alice.Composer.PressAsync("Enter");
        await Expect(bob.Message("See you at 6").Locator(".edited")).ToHaveTextAsync("edited");
        await Expect(bob.Message("See you at 5")).ToHaveCountAsync(0);

        // Delete for everyone, after a confirmation.
        await alice.ChooseFromMenuAsync("This was a mistake", "Delete for everyone");
        await alice.Page.GetByRole(AriaRole.Dialog, new() { Name = "Delete message?" }).GetByRole(AriaRole.Button, new() { Name = "Delete for everyone" }).ClickAsync();
        await Expect(alice.Message("You deleted this message")).ToBeVisibleAsync();
        await Expect(bob.Message("This message was deleted")).ToBeVisibleAsync();
        await Expect(bob.Page.GetByText("This was a mistake")).ToHaveCountAsync(0);
        await bob.ScreenshotAsync("12-edited-and-deleted");

        // Delete for me: gone for Alice (also after a reload), still there for Bob.
        await alice.ChooseFromMenuAsync("Only I hide this", "Delete for me");
        await Expect(alice.Message("Only I hide this")).ToHaveCountAsync(0);
        await alice.Page.ReloadAsync();
        await alice.ExpectSignedInAsync();
        await Expect(alice.Message("See you at 6")).ToBeVisibleAsync();
        await Expect(alice.Message("Only I hide this")).ToHaveCountAsync(0);
        await Expect(bob.Message("Only I hide this")).ToBeVisibleAsync();
        // The chat list's last message, as the server summarizes it after the reload, is not the hidden one.
        await Expect(alice.ChatItem("Bob Baker").Locator(".preview-text")).ToHaveTextAsync("This message was deleted");
        await Expect(bob.ChatItem("Alice Archer").Locator(".preview-text")).ToContainTextAsync("Only I hide this");

        // Others' messages offer no edit and no delete for everyone.
        await bob.Message("See you at 6").HoverAsync();
        await bob.Message("See you at 6").GetByRole(AriaRole.Button, new() { Name = "Message options" }).ClickAsync();
        var menu = bob.Page.GetByRole(AriaRole.Menu, new() { Name = "Message options" });
        await Expect(menu.GetByRole(AriaRole.Menuitem)).ToHaveTextAsync(["Reply", "Delete for me"]);
        await bob.Page.Keyboard.PressAsync("Escape");
        await Expect(menu).ToHaveCountAsync(0);
        await Expect(bob.Message("See you at 6").GetByRole(AriaRole.Button, new() { Name = "Message options" })).ToBeFocusedAsync();
    });

    [Fact(Timeout = Limits.TestMs)]
    public Task Message_info_shows_when_each_member_got_and_read_a_group_message() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        var carol = await s.RegisterAsync("Carol Cooper");
        await alice.CreateGroupAsync("Book club", bob, carol);
        await alice.SendAsync("Chapter 3 tonight");

        await bob.OpenChatAsync("Book club");
        await Expect(bob.Message("Chapter 3 tonight")).ToBeVisibleAsync();
        // Carol's client has it (delivered) but she has not opened the group.
        await Expect(carol.ChatItem("Book club")).ToContainTextAsync("Chapter 3 tonight");

        await alice.ChooseFromMenuAsync("Chapter 3 tonight", "Message info");
        var info = alice.Page.GetByRole(AriaRole.Dialog, new() { Name = "Message info" });
        await Expect(info.Locator(".receipt", new() { HasText = "Bob Baker" }).Locator(".person-sub")).ToHaveTextAsync(new Regex("^Read (Today|Yesterday), \\d\\d:\\d\\d$"));
        await Expect(info.Locator(".receipt", new() { HasText = "Carol Cooper" }).Locator(".person-sub")).ToHaveTextAsync(new Regex("^Delivered (Today|Yesterday), \\d\\d:\\d\\d$"));
        await alice.ScreenshotAsync("13-message-info");
    });
}
