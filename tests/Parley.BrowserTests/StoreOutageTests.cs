using Parley.BrowserTests.Infrastructure;
using Parley.Testing;
using static Microsoft.Playwright.Assertions;

namespace Parley.BrowserTests;

/// <summary>The store stops answering while the server stays up: a message sent meanwhile waits in
/// the outbox with its clock (the server answers each try with "unavailable", which the client
/// retries), never marked failed, and arrives once when the store is back.</summary>
[Collection(BrowserCollection.Name)]
public sealed class StoreOutageTests(BrowserFixture browser)
{
    [PostgresBrowserFact]
    public async Task A_message_sent_while_the_store_refuses_waits_with_its_clock_and_arrives_once_when_it_is_back()
    {
        await using var outage = await PostgresOutage.CreateAsync();
        await Scenario.RunAsync(browser, outage.Settings, async s =>
        {
            var alice = await s.RegisterAsync("Alice Archer");
            var bob = await s.RegisterAsync("Bob Baker");
            await alice.StartChatWithAsync(bob);
            await alice.SendAsync("Before the outage");
            await bob.OpenChatAsync("Alice Archer");
            await alice.ExpectTicksAsync("Before the outage", "read");

            await outage.BeginAsync();
            await alice.SendAsync("Sent during the outage");
            await alice.ExpectTicksAsync("Sent during the outage", "pending");
            // The server refused it at least twice (the send and a retry), and it still waits.
            int Refusals() => s.Server.Logs.Count(l => l.Contains("A send on socket", StringComparison.Ordinal) && l.Contains("the store is not answering", StringComparison.Ordinal));
            for (var i = 0; i < 200 && Refusals() < 2; i++) await Task.Delay(100);
            Assert.True(Refusals() >= 2, "the server refused the send and the client's retry");
            await alice.ExpectTicksAsync("Sent during the outage", "pending");
            await Expect(alice.Page.Locator(".msg-row.failed")).ToHaveCountAsync(0);

            await outage.EndAsync();
            await Expect(bob.Message("Sent during the outage")).ToHaveCountAsync(1);
            await alice.ExpectTicksAsync("Sent during the outage", "read");
            await alice.Page.ReloadAsync();
            await alice.ExpectSignedInAsync();
            await Expect(alice.Page.Locator(".message-list .msg-row .text")).ToHaveTextAsync(["Before the outage", "Sent during the outage"]);
        });
    }
}
