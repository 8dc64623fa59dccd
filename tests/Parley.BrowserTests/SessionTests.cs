using System.Text.Json;
using Microsoft.Playwright;
using Parley.BrowserTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Parley.BrowserTests;

/// <summary>The session: it survives a reload, its tokens are refreshed (before expiry and after a
/// rejection), and signing out ends it.</summary>
[Collection(BrowserCollection.Name)]
public sealed class SessionTests(BrowserFixture browser)
{
    [Fact(Timeout = Limits.TestMs)]
    public Task A_reload_keeps_the_session_and_the_open_conversation_and_sign_out_ends_it() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        await alice.StartChatWithAsync(bob);
        await alice.SendAsync("Before the reload");
        await alice.ExpectTicksAsync("Before the reload", "delivered");

        await alice.Page.ReloadAsync();
        await alice.ExpectSignedInAsync();
        await alice.ExpectConversationAsync("Bob Baker");
        await Expect(alice.Message("Before the reload")).ToHaveCountAsync(1);
        await alice.ExpectTicksAsync("Before the reload", "delivered");
        await alice.SendAsync("After the reload");
        await Expect(bob.ChatItem("Alice Archer").Locator(".badge")).ToHaveTextAsync("2");

        // Sign out: back to the sign-in form, and a reload stays signed out.
        await alice.Page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(alice.Page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" })).ToBeVisibleAsync();
        await alice.Page.ReloadAsync();
        await Expect(alice.Page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" })).ToBeVisibleAsync();
        Assert.Null(await alice.Page.EvaluateAsync<string?>("() => localStorage.getItem('parley.session')"));

        // A wrong password is refused with the server's sentence; the right one signs in.
        await alice.Page.GetByLabel("Email").FillAsync(alice.Email);
        await alice.Page.GetByLabel("Password").FillAsync("not-the-password");
        await alice.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await Expect(alice.Page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Incorrect email or password.");
        await alice.SignInAsync();
        await Expect(alice.ChatItem("Bob Baker")).ToContainTextAsync("After the reload");
    });

    [Fact(Timeout = Limits.TestMs)]
    public Task Registering_an_email_twice_says_so() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var again = await s.OpenAsync("Alice Again", email: alice.Email);
        await again.Page.GetByRole(AriaRole.Button, new() { Name = "Create an account" }).ClickAsync();
        await again.Page.GetByLabel("Your name").FillAsync("Alice Again");
        await again.Page.GetByLabel("Email").FillAsync(alice.Email);
        await again.Page.GetByLabel("Password").FillAsync(ChatUser.Password);
        await again.ScreenshotAsync("02-create-account");
        await again.Page.GetByRole(AriaRole.Button, new() { Name = "Create account", Exact = true }).ClickAsync();
        await Expect(again.Page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("An account with this email already exists.");
    });

    [Fact(Timeout = Limits.TestMs)]
    public Task Tokens_are_refreshed_before_they_expire_and_after_a_rejection() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        await alice.StartChatWithAsync(bob);
        var first = await SessionAsync(alice.Page);

        // Close to expiry: the client refreshes on its own, without any request failing first.
        await alice.Page.EvaluateAsync("() => { const s = JSON.parse(localStorage.getItem('parley.session')); s.expiresAt = Date.now() + 30000; localStorage.setItem('parley.session', JSON.stringify(s)); }");
        await alice.Page.ReloadAsync();
        await alice.ExpectSignedInAsync();
        await alice.Page.WaitForFunctionAsync("old => JSON.parse(localStorage.getItem('parley.session')).refreshToken !== old", first.GetProperty("refreshToken").GetString());
        var second = await SessionAsync(alice.Page);
        Assert.True(second.GetProperty("expiresAt").GetInt64() > DateTimeOffset.UtcNow.AddMinutes(30).ToUnixTimeMilliseconds());

        // An access token the server rejects: one refresh, then the request goes through.
        await alice.Page.EvaluateAsync("() => { const s = JSON.parse(localStorage.getItem('parley.session')); s.accessToken = 'not-a-valid-token'; localStorage.setItem('parley.session', JSON.stringify(s)); }");
        await alice.Page.ReloadAsync();
        await alice.ExpectSignedInAsync();
        await alice.ExpectConversationAsync("Bob Baker");
        var third = await SessionAsync(alice.Page);
        Assert.NotEqual(second.GetProperty("refreshToken").GetString(), third.GetProperty("refreshToken").GetString());
        Assert.NotEqual("not-a-valid-token", third.GetProperty("accessToken").GetString());

        // And the socket works with the new token.
        await alice.SendAsync("Still here");
        await Expect(bob.ChatItem("Alice Archer")).ToContainTextAsync("Still here");
    });

    [Fact(Timeout = Limits.TestMs)]
    public Task Two_tabs_of_one_person_share_the_session_and_the_conversation() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        await alice.StartChatWithAsync(bob);

        var tab = await alice.NewTabAsync();
        await Expect(tab.GetByRole(AriaRole.Button, new() { Name = "New chat" })).ToBeVisibleAsync();
        await tab.Locator(".chat-item", new() { HasText = "Bob Baker" }).ClickAsync();
        await Expect(tab.Locator(".conv-header .conv-name")).ToHaveTextAsync("Bob Baker");

        // Sent from the first tab: the second shows it as Alice's own, with its ticks.
        await alice.SendAsync("From my first tab");
        var inTab = tab.Locator(".msg-row.own", new() { HasText = "From my first tab" });
        await Expect(inTab).ToHaveCountAsync(1);
        await Expect(inTab.Locator(".ticks")).ToHaveAttributeAsync("data-status", new System.Text.RegularExpressions.Regex("sent|delivered"));

        // Bob's answer reaches both.
        await bob.OpenChatAsync("Alice Archer");
        await bob.SendAsync("Both tabs see this");
        await Expect(alice.Message("Both tabs see this")).ToBeVisibleAsync();
        await Expect(tab.Locator(".msg-row.other", new() { HasText = "Both tabs see this" })).ToBeVisibleAsync();
        await alice.ExpectTicksAsync("From my first tab", "read");

        // Signing out in one tab signs out the other.
        await tab.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(alice.Page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" })).ToBeVisibleAsync();
    });

    private static async Task<JsonElement> SessionAsync(IPage page) =>
        JsonDocument.Parse(await page.EvaluateAsync<string>("() => localStorage.getItem('parley.session')")).RootElement.Clone();
}
