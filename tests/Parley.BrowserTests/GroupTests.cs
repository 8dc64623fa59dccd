using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Parley.BrowserTests.Infrastructure;
using Parley.Server.Storage;
using static Microsoft.Playwright.Assertions;

namespace Parley.BrowserTests;

/// <summary>A group of three: create, talk, read receipts over everyone, rename, admins, remove, leave;
/// a group whose only admin deletes their account; and a deleted account still in a group.</summary>
[Collection(BrowserCollection.Name)]
public sealed class GroupTests(BrowserFixture browser)
{
    [Fact(Timeout = Limits.TestMs)]
    public Task A_group_name_of_100_emoji_is_taken_whole_and_101_are_refused_with_the_servers_sentence() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        var tooLong = string.Concat(Enumerable.Repeat("😀", 101));
        var longest = string.Concat(Enumerable.Repeat("😀", 100));

        await alice.Page.GetByRole(AriaRole.Button, new() { Name = "New group" }).ClickAsync();
        var dialog = alice.Page.GetByRole(AriaRole.Dialog, new() { Name = "New group" });
        var name = dialog.GetByLabel("Group name");
        await name.FillAsync(tooLong);
        await ChatUser.SearchPeopleAsync(dialog, "Search people to add", "Bob");
        await dialog.Locator("label.person", new() { HasText = bob.Email }).Locator("input[type=checkbox]").CheckAsync();
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Create group" }).ClickAsync();
        await Expect(dialog).ToContainTextAsync("name must be at most 100 characters.");
        // The field is never cut: it still holds every emoji typed.
        await Expect(name).ToHaveValueAsync(tooLong);

        await name.FillAsync(longest);
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Create group" }).ClickAsync();
        await alice.ExpectConversationAsync(longest);
        await Expect(bob.ChatItem(longest)).ToBeVisibleAsync();
    });

    [Fact(Timeout = Limits.TestMs)]
    public Task A_group_of_three_talks_and_is_managed_from_the_info_panel() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        var carol = await s.RegisterAsync("Carol Cooper");

        // Alice creates the group with Bob and Carol.
        await alice.Page.GetByRole(AriaRole.Button, new() { Name = "New group" }).ClickAsync();
        var dialog = alice.Page.GetByRole(AriaRole.Dialog, new() { Name = "New group" });
        await dialog.GetByLabel("Group name").FillAsync("Weekend trip");
        await ChatUser.SearchPeopleAsync(dialog, "Search people to add", "Bob");
        await dialog.Locator("label.person", new() { HasText = bob.Email }).Locator("input[type=checkbox]").CheckAsync();
        await ChatUser.SearchPeopleAsync(dialog, "Search people to add", "Carol");
        await dialog.Locator("label.person", new() { HasText = carol.Email }).Locator("input[type=checkbox]").CheckAsync();
        await Expect(dialog.GetByRole(AriaRole.List, new() { Name = "Selected members" }).GetByRole(AriaRole.Listitem)).ToHaveCountAsync(2);
        await alice.ScreenshotAsync("06-new-group");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Create group" }).ClickAsync();
        await alice.ExpectConversationAsync("Weekend trip");
        await Expect(alice.SystemLine("You created the group “Weekend trip”")).ToBeVisibleAsync();
        await Expect(alice.HeaderStatus).ToContainTextAsync("Bob Baker");

        // The others see it appear live and open it.
        await bob.OpenChatAsync("Weekend trip");
        await Expect(bob.SystemLine("Alice Archer created the group “Weekend trip”")).ToBeVisibleAsync();
        await Expect(carol.ChatItem("Weekend trip")).ToBeVisibleAsync();

        // A message is read only when everyone has read it.
        await alice.SendAsync("Who's in?");
        await Expect(bob.Message("Who's in?")).ToBeVisibleAsync();
        await Expect(bob.Page.Locator(".msg-row", new() { HasText = "Who's in?" }).Locator(".sender")).ToHaveTextAsync("Alice Archer");
        await Expect(carol.ChatItem("Weekend trip")).ToContainTextAsync("Alice Archer: Who's in?");
        await alice.ExpectTicksAsync("Who's in?", "delivered");
        await carol.OpenChatAsync("Weekend trip");
        await alice.ExpectTicksAsync("Who's in?", "read");

        // Typing in a group names who types.
        await bob.Composer.PressSequentiallyAsync("Me!");
        await Expect(alice.HeaderStatus).ToHaveTextAsync("Bob is typing…");
        await Expect(carol.ChatItem("Weekend trip").Locator(".preview")).ToHaveTextAsync("Bob is typing…");
        await bob.Composer.PressAsync("Enter");
        await Expect(carol.Message("Me!")).ToBeVisibleAsync();
        await Expect(alice.Message("Me!")).ToBeVisibleAsync();
        await bob.ExpectTicksAsync("Me!", "read");
        await carol.SendAsync("Count me in too!");
        await Expect(bob.Message("Count me in too!")).ToBeVisibleAsync();
        await carol.ExpectTicksAsync("Count me in too!", "read");
        await bob.ScreenshotAsync("07-group-conversation");

        // Group info: rename.
        await alice.Page.GetByRole(AriaRole.Button, new() { Name = "Group info" }).ClickAsync();
        var info = alice.Page.GetByRole(AriaRole.Dialog, new() { Name = "Group info" });
        await Expect(info.GetByRole(AriaRole.List, new() { Name = "Members" }).GetByRole(AriaRole.Listitem)).ToHaveCountAsync(3);
        await alice.ScreenshotAsync("08-group-info");
        await info.GetByLabel("Group name").FillAsync("Ski weekend");
        await info.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await bob.ExpectConversationAsync("Ski weekend");
        await Expect(bob.SystemLine("Alice Archer changed the group name to “Ski weekend”")).ToBeVisibleAsync();
        await Expect(carol.ChatItem("Ski weekend")).ToBeVisibleAsync();

        // Promote Bob to admin; he sees the admin controls in his own info panel.
        await info.GetByRole(AriaRole.Button, new() { Name = "Make admin: Bob Baker" }).ClickAsync();
        await Expect(info.Locator("li.member", new() { HasText = "Bob Baker" }).Locator(".badge-admin")).ToHaveTextAsync("Admin");
        await bob.Page.GetByRole(AriaRole.Button, new() { Name = "Group info" }).ClickAsync();
        var bobInfo = bob.Page.GetByRole(AriaRole.Dialog, new() { Name = "Group info" });
        await Expect(bobInfo.GetByRole(AriaRole.Button, new() { Name = "Remove Carol Cooper" })).ToBeVisibleAsync();

        // Remove Carol: the group leaves her list, the others see why.
        await info.GetByRole(AriaRole.Button, new() { Name = "Remove Carol Cooper" }).ClickAsync();
        await Expect(info.GetByRole(AriaRole.List, new() { Name = "Members" }).GetByRole(AriaRole.Listitem)).ToHaveCountAsync(2);
        await Expect(carol.ChatItem("Ski weekend")).ToHaveCountAsync(0);
        await Expect(bob.SystemLine("Alice Archer removed Carol Cooper")).ToBeVisibleAsync();

        // Add her back from the info panel.
        await ChatUser.SearchPeopleAsync(info, "Search people to add to the group", "Carol");
        await info.GetByRole(AriaRole.Button, new() { Name = "Add Carol Cooper" }).ClickAsync();
        await Expect(info.GetByRole(AriaRole.List, new() { Name = "Members" }).GetByRole(AriaRole.Listitem)).ToHaveCountAsync(3);
        await Expect(carol.ChatItem("Ski weekend")).ToBeVisibleAsync();
        await Expect(alice.SystemLine("You added Carol Cooper")).ToBeVisibleAsync();
        await info.GetByRole(AriaRole.Button, new() { Name = "Close" }).ClickAsync();
        await Expect(info).ToBeHiddenAsync();

        // Bob leaves (confirming first); Alice sees it.
        await bobInfo.GetByRole(AriaRole.Button, new() { Name = "Leave group" }).ClickAsync();
        await bobInfo.GetByRole(AriaRole.Button, new() { Name = "Yes, leave group" }).ClickAsync();
        await Expect(bob.ChatItem("Ski weekend")).ToHaveCountAsync(0);
        await Expect(bob.Page.Locator(".placeholder")).ToBeVisibleAsync();
        await Expect(alice.SystemLine("Bob Baker left")).ToBeVisibleAsync();
        await Expect(alice.HeaderStatus).Not.ToContainTextAsync("Bob Baker");
    });

    [Fact(Timeout = Limits.TestMs)]
    public Task When_the_only_admin_deletes_their_account_the_member_left_leads_the_group() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        await alice.CreateGroupAsync("Book club", bob);
        await alice.SendAsync("Chapter one tonight");
        await bob.OpenChatAsync("Book club");
        await Expect(bob.Message("Chapter one tonight")).ToBeVisibleAsync();
        await bob.Page.GetByRole(AriaRole.Button, new() { Name = "Group info" }).ClickAsync();
        var info = bob.Page.GetByRole(AriaRole.Dialog, new() { Name = "Group info" });
        var members = info.GetByRole(AriaRole.List, new() { Name = "Members" }).GetByRole(AriaRole.Listitem);
        await Expect(members).ToHaveCountAsync(2);
        await Expect(info.GetByLabel("Group name")).ToHaveCountAsync(0);

        // Alice deletes her account, through the API: the web client offers no account deletion.
        using (var rest = new RestClient(s.Server)) await rest.DeleteAsync(await alice.AccessTokenAsync(), "/users/me");

        // Bob sees her go under no name but "Deleted account", and leads the group now.
        await Expect(bob.SystemLine("Deleted account left")).ToBeVisibleAsync();
        await Expect(bob.Page.Locator(".msg-row", new() { HasText = "Chapter one tonight" }).Locator(".sender")).ToHaveTextAsync("Deleted account");
        await Expect(members).ToHaveCountAsync(1);
        await Expect(info.Locator("li.member", new() { HasText = "Alice Archer" })).ToHaveCountAsync(0);
        await Expect(members.Locator(".badge-admin")).ToHaveTextAsync("Admin");
        await info.GetByLabel("Group name").FillAsync("Book club two");
        await info.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await bob.ExpectConversationAsync("Book club two");
    });

    [Fact(Timeout = Limits.TestMs)]
    public Task A_deleted_account_still_in_a_group_is_offered_no_Make_admin_but_can_be_removed() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        using (var rest = new RestClient(s.Server))
        {
            var (carolId, _) = await rest.RegisterAsync("Carol Cooper", $"carol-{Guid.NewGuid():N}@example.com", "Carol's long passphrase 1");
            var (daveId, _) = await rest.RegisterAsync("Dave Dunn", $"dave-{Guid.NewGuid():N}@example.com", "Dave's long passphrase 1");
            await rest.PostAsync(await alice.AccessTokenAsync(), "/groups", new { name = "Left behind", memberIds = new[] { carolId, daveId } });
            // Carol's account as deletion left it before it left groups: anonymized, still a member.
            await s.Server.Services.GetRequiredService<IAccountStore>().DeleteUserAsync(carolId, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        }

        await alice.Page.ReloadAsync();
        await alice.OpenChatAsync("Left behind");
        await alice.Page.GetByRole(AriaRole.Button, new() { Name = "Group info" }).ClickAsync();
        var info = alice.Page.GetByRole(AriaRole.Dialog, new() { Name = "Group info" });
        var members = info.GetByRole(AriaRole.List, new() { Name = "Members" }).GetByRole(AriaRole.Listitem);
        await Expect(members).ToHaveCountAsync(3);
        await Expect(info.GetByRole(AriaRole.Button, new() { Name = "Make admin: Dave Dunn" })).ToBeVisibleAsync();
        var deleted = info.Locator("li.member", new() { HasText = "Deleted account" });
        await Expect(deleted.GetByRole(AriaRole.Button, new() { Name = "Remove Deleted account" })).ToBeVisibleAsync();
        await Expect(deleted.GetByRole(AriaRole.Button, new() { NameRegex = new System.Text.RegularExpressions.Regex("admin") })).ToHaveCountAsync(0);
        await alice.ScreenshotAsync("group-info-deleted-member");

        await deleted.GetByRole(AriaRole.Button, new() { Name = "Remove Deleted account" }).ClickAsync();
        await Expect(members).ToHaveCountAsync(2);
        await Expect(alice.SystemLine("You removed Deleted account")).ToBeVisibleAsync();
    });
}
