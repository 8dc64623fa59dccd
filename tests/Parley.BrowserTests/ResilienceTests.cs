using Parley.BrowserTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Parley.BrowserTests;

/// <summary>The server goes away mid-conversation and comes back (same data, same port): the pages
/// show "connecting…", keep what is typed and sent meanwhile, reconnect, resume and lose nothing.</summary>
[Collection(BrowserCollection.Name)]
public sealed class ResilienceTests(BrowserFixture browser)
{
    [Fact(Timeout = Limits.TestMs)]
    public Task A_server_restart_mid_conversation_loses_and_duplicates_nothing() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        await alice.StartChatWithAsync(bob);
        await alice.SendAsync("Before the restart");
        await bob.OpenChatAsync("Alice Archer");
        await alice.ExpectTicksAsync("Before the restart", "read");

        await s.Server.StopAsync();
        await alice.ExpectConnectingAsync();
        await bob.ExpectConnectingAsync();
        await Expect(alice.HeaderStatus).ToHaveTextAsync("connecting…");

        // Sent while the server is down: queued, shown with a clock.
        await alice.SendAsync("Sent while the server was down");
        await alice.SendAsync("And a second one");
        await alice.ExpectTicksAsync("Sent while the server was down", "pending");
        await alice.ExpectTicksAsync("And a second one", "pending");
        await alice.ScreenshotAsync("12-connecting");

        await s.Server.StartAgainAsync();
        await alice.ExpectConnectedAsync();
        await bob.ExpectConnectedAsync();

        // Each queued message arrives exactly once, in order, and is read by Bob who has the chat open.
        await Expect(bob.Message("Sent while the server was down")).ToHaveCountAsync(1);
        await Expect(bob.Message("And a second one")).ToHaveCountAsync(1);
        await alice.ExpectTicksAsync("And a second one", "read");
        await alice.ExpectTicksAsync("Sent while the server was down", "read");
        await Expect(bob.Page.Locator(".message-list .msg-row .text")).ToHaveTextAsync(["Before the restart", "Sent while the server was down", "And a second one"]);

        // Live again both ways.
        await bob.SendAsync("Back online");
        await Expect(alice.Message("Back online")).ToBeVisibleAsync();
        await Expect(alice.HeaderStatus).ToHaveTextAsync("online");

        // The server stored one copy of each: a fresh load shows the same four messages.
        await alice.Page.ReloadAsync();
        await alice.ExpectSignedInAsync();
        await Expect(alice.Page.Locator(".message-list .msg-row .text")).ToHaveTextAsync(["Before the restart", "Sent while the server was down", "And a second one", "Back online"]);
    });

    [Fact(Timeout = Limits.TestMs)]
    public Task Messages_sent_while_a_reader_is_disconnected_arrive_when_it_resumes() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        await alice.StartChatWithAsync(bob);
        await alice.SendAsync("First");
        await Expect(bob.ChatItem("Alice Archer")).ToContainTextAsync("First");

        // Bob's network drops (his page stays open); Alice keeps writing.
        await bob.Page.Context.SetOfflineAsync(true);
        await bob.ExpectConnectingAsync();
        await alice.SendAsync("Second");
        await alice.SendAsync("Third");
        await bob.Page.Context.SetOfflineAsync(false);
        await bob.ExpectConnectedAsync();

        await Expect(bob.ChatItem("Alice Archer")).ToContainTextAsync("Third");
        await Expect(bob.ChatItem("Alice Archer").Locator(".badge")).ToHaveTextAsync("3");
        await alice.ExpectTicksAsync("Third", "delivered");
        await bob.OpenChatAsync("Alice Archer");
        await Expect(bob.Page.Locator(".message-list .msg-row .text")).ToHaveTextAsync(["First", "Second", "Third"]);
        await alice.ExpectTicksAsync("Third", "read");
    });
}
