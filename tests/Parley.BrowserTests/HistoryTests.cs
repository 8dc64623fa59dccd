using Microsoft.Playwright;
using Parley.BrowserTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Parley.BrowserTests;

/// <summary>A long history loads page by page (lastKey) as the reader scrolls up.</summary>
[Collection(BrowserCollection.Name)]
public sealed class HistoryTests(BrowserFixture browser)
{
    private const int Count = 130;

    [Fact(Timeout = Limits.TestMs)]
    public Task Scrolling_up_loads_older_messages_until_the_beginning() => Scenario.RunAsync(browser, async s =>
    {
        // Seed through the API: Alice writes Count messages to Bob.
        using var rest = new RestClient(s.Server);
        var bobEmail = $"bob-{Guid.NewGuid():N}"[..20] + "@example.com";
        var (bobId, _) = await rest.RegisterAsync("Bob Baker", bobEmail, ChatUser.Password);
        var (_, aliceToken) = await rest.RegisterAsync("Alice Archer", $"alice-{Guid.NewGuid():N}"[..20] + "@example.com", ChatUser.Password);
        var chat = await rest.PostAsync(aliceToken, "/chats", new { participantId = bobId });
        var chatId = chat.GetProperty("id").GetString();
        for (var i = 1; i <= Count; i++)
        {
            await rest.PostAsync(aliceToken, $"/chats/{chatId}/messages", new { content = $"Message {i}", clientMessageId = $"seed-{i}" });
        }

        var bob = await s.OpenAsync("Bob Baker", email: bobEmail);
        await bob.SignInAsync();
        await Expect(bob.ChatItem("Alice Archer").Locator(".badge")).ToHaveTextAsync(Count.ToString());
        await bob.OpenChatAsync("Alice Archer");
        await Expect(bob.Message($"Message {Count}")).ToBeVisibleAsync();
        await Expect(bob.Message("Message 1")).ToHaveCountAsync(0);

        var rows = bob.Page.Locator(".message-list .msg-row");
        var pane = bob.Page.Locator(".messages");
        while (true)
        {
            // Rows first, then the oldest message: the client may render a page it fetched on its
            // own in between, and rows only ever grow.
            var before = await rows.CountAsync();
            if (await bob.Message("Message 1").CountAsync() > 0) break;
            Assert.True(before < Count, "every message is shown but Message 1 is missing");
            await pane.EvaluateAsync("e => { e.scrollTop = 0; e.dispatchEvent(new Event('scroll')); }");
            await bob.Page.WaitForFunctionAsync("n => document.querySelectorAll('.message-list .msg-row').length > n", before);
        }
        await Expect(bob.Page.GetByText("This is the beginning of the conversation.")).ToBeVisibleAsync();
        await Expect(rows).ToHaveCountAsync(Count);
        var texts = await bob.Page.Locator(".message-list .msg-row .text").AllTextContentsAsync();
        Assert.Equal(Enumerable.Range(1, Count).Select(i => $"Message {i}"), texts);
        await Expect(bob.ChatItem("Alice Archer").Locator(".badge")).ToHaveCountAsync(0);
    });
}
