using Microsoft.Playwright;
using Parley.BrowserTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Parley.BrowserTests;

/// <summary>A reply shows a quote of the message it answers; once that message is deleted for
/// everyone, the quote says so and its text is gone from the page.</summary>
[Collection(BrowserCollection.Name)]
public sealed class QuoteTests(BrowserFixture browser)
{
    [Fact(Timeout = Limits.TestMs)]
    public Task A_quote_of_a_message_deleted_for_everyone_says_it_was_deleted() => Scenario.RunAsync(browser, async s =>
    {
        // Seed through the API: Alice writes, Bob answers quoting her (clients of the API can reply).
        using var rest = new RestClient(s.Server);
        var bobEmail = $"bob-{Guid.NewGuid():N}"[..20] + "@example.com";
        var (bobId, bobToken) = await rest.RegisterAsync("Bob Baker", bobEmail, ChatUser.Password);
        var (_, aliceToken) = await rest.RegisterAsync("Alice Archer", $"alice-{Guid.NewGuid():N}"[..20] + "@example.com", ChatUser.Password);
        var chatId = (await rest.PostAsync(aliceToken, "/chats", new { participantId = bobId })).GetProperty("id").GetString();
        var secret = (await rest.PostAsync(aliceToken, $"/chats/{chatId}/messages", new { content = "The secret plan" })).GetProperty("id").GetString();
        await rest.PostAsync(bobToken, $"/chats/{chatId}/messages", new { content = "Sounds good", replyTo = secret });

        var bob = await s.OpenAsync("Bob Baker", email: bobEmail);
        await bob.SignInAsync();
        await bob.OpenChatAsync("Alice Archer");
        var reply = bob.Page.Locator(".msg-row", new() { Has = bob.Page.GetByText("Sounds good") });
        // The quote names its author above the text.
        await Expect(reply.Locator(".quote .quote-text")).ToHaveTextAsync("The secret plan");

        await rest.DeleteAsync(aliceToken, $"/messages/{secret}?for=everyone");
        await Expect(reply.Locator(".quote .quote-text")).ToHaveTextAsync("This message was deleted");
        await Expect(bob.Page.GetByText("The secret plan")).ToHaveCountAsync(0);
    });
}
