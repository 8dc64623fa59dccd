using Microsoft.Playwright;
using Parley.BrowserTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Parley.BrowserTests.Features;

/// <summary>Phone sign-up with its code, a forgotten password by email and by phone, and password
/// lengths counted in characters as the server counts them.</summary>
[Collection(BrowserCollection.Name)]
public sealed class AccountTests(BrowserFixture browser)
{
    private static string NewPhone() => "+4477009" + Random.Shared.Next(10_000, 99_999);

    [Fact(Timeout = Limits.TestMs)]
    public Task A_phone_account_is_confirmed_with_the_code_it_was_sent_and_signs_in_by_number() => Scenario.RunAsync(browser, async s =>
    {
        var phone = NewPhone();
        var dora = await s.OpenAsync("Dora Diaz");
        var page = dora.Page;
        await page.GetByRole(AriaRole.Button, new() { Name = "Create an account" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Use a phone number instead" }).ClickAsync();
        await page.GetByLabel("Your name").FillAsync("Dora Diaz");
        await page.GetByLabel("Phone number").FillAsync(phone[..3] + " " + phone[3..]);
        await page.GetByLabel("Password").FillAsync(ChatUser.Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Create account", Exact = true }).ClickAsync();

        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Confirm your number" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Status).First).ToContainTextAsync($"We sent a code to {phone}");
        await dora.ScreenshotAsync("07-confirm-phone");
        var code = s.Server.LatestCode("confirm", phone);
        // A wrong code is refused with the server's sentence.
        await page.GetByLabel("Confirmation code").FillAsync(((int.Parse(code) + 1) % 1_000_000).ToString("D6"));
        await page.GetByRole(AriaRole.Button, new() { Name = "Confirm", Exact = true }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).Not.ToBeEmptyAsync();
        await page.GetByLabel("Confirmation code").FillAsync(code);
        await page.GetByRole(AriaRole.Button, new() { Name = "Confirm", Exact = true }).ClickAsync();
        await dora.ExpectSignedInAsync();
        await Expect(page.Locator(".me-name")).ToHaveTextAsync("Dora Diaz");

        // Signed out, the number and password sign in again.
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await page.GetByLabel("Email or phone number").FillAsync(phone);
        await page.GetByLabel("Password").FillAsync(ChatUser.Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await dora.ExpectSignedInAsync();
    });

    [Fact(Timeout = Limits.TestMs)]
    public Task Signing_in_with_an_unconfirmed_number_leads_to_the_code_step_with_a_new_code_on_request() => Scenario.RunAsync(browser, async s =>
    {
        var phone = NewPhone();
        using var http = new HttpClient { BaseAddress = s.Server.BaseAddress };
        (await http.PostAsync("/auth/sign-up", System.Net.Http.Json.JsonContent.Create(new { phoneNumber = phone, password = ChatUser.Password, name = "Eli Ezra" }))).EnsureSuccessStatusCode();
        var eli = await s.OpenAsync("Eli Ezra");
        await eli.Page.GetByLabel("Email or phone number").FillAsync(phone);
        await eli.Page.GetByLabel("Password").FillAsync(ChatUser.Password);
        await eli.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await Expect(eli.Page.GetByRole(AriaRole.Heading, new() { Name = "Confirm your number" })).ToBeVisibleAsync();

        var sent = s.Server.CodeCount("confirm", phone);
        await eli.Page.GetByRole(AriaRole.Button, new() { Name = "Send a new code" }).ClickAsync();
        var resend = await http.PostAsync("/auth/resend-code", System.Net.Http.Json.JsonContent.Create(new { phoneNumber = "+10000000000" }));
        if (resend.StatusCode != System.Net.HttpStatusCode.NotFound)
        {
            // The server offers resending: the page says so and a new code was sent.
            await Expect(eli.Page.GetByText($"A new code is on its way to {phone}.")).ToBeVisibleAsync();
            Assert.True(s.Server.CodeCount("confirm", phone) > sent);
        }
        await eli.Page.GetByLabel("Confirmation code").FillAsync(s.Server.LatestCode("confirm", phone));
        await eli.Page.GetByRole(AriaRole.Button, new() { Name = "Confirm", Exact = true }).ClickAsync();
        await eli.ExpectSignedInAsync();
    });

    [Fact(Timeout = Limits.TestMs)]
    public Task A_forgotten_password_is_reset_with_a_code_by_email_and_by_phone() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        await alice.Page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        var page = alice.Page;

        await page.GetByRole(AriaRole.Button, new() { Name = "Forgot password?" }).ClickAsync();
        await page.GetByLabel("Email or phone number").FillAsync(alice.Email);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send code" }).ClickAsync();
        await Expect(page.GetByLabel("New password")).ToBeVisibleAsync();
        await alice.ScreenshotAsync("08-reset-password");
        await page.GetByLabel("Code", new() { Exact = true }).FillAsync(s.Server.LatestCode("reset", alice.Email));
        await page.GetByLabel("New password").FillAsync("a-brand-new-passphrase");
        await page.GetByRole(AriaRole.Button, new() { Name = "Change password" }).ClickAsync();
        await Expect(page.Locator(".notice")).ToHaveTextAsync("Your password is changed. Sign in with the new one.");
        await page.GetByLabel("Email or phone number").FillAsync(alice.Email);
        await page.GetByLabel("Password").FillAsync("a-brand-new-passphrase");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await alice.ExpectSignedInAsync();

        // By phone: a confirmed phone account resets the same way.
        var phone = NewPhone();
        using var http = new HttpClient { BaseAddress = s.Server.BaseAddress };
        (await http.PostAsync("/auth/sign-up", System.Net.Http.Json.JsonContent.Create(new { phoneNumber = phone, password = ChatUser.Password, name = "Pat Phone" }))).EnsureSuccessStatusCode();
        var confirmation = new { phoneNumber = phone, code = s.Server.LatestCode("confirm", phone) };
        (await http.PostAsync("/auth/account-confirmation", System.Net.Http.Json.JsonContent.Create(confirmation))).EnsureSuccessStatusCode();
        var pat = await s.OpenAsync("Pat Phone");
        await pat.Page.GetByRole(AriaRole.Button, new() { Name = "Forgot password?" }).ClickAsync();
        await pat.Page.GetByLabel("Email or phone number").FillAsync(phone);
        await pat.Page.GetByRole(AriaRole.Button, new() { Name = "Send code" }).ClickAsync();
        // The code step shows once the server answered, and it sends the code before it answers.
        await Expect(pat.Page.GetByLabel("New password")).ToBeVisibleAsync();
        await pat.Page.GetByLabel("Code", new() { Exact = true }).FillAsync(s.Server.LatestCode("reset", phone));
        await pat.Page.GetByLabel("New password").FillAsync("phone-reset-passphrase");
        await pat.Page.GetByRole(AriaRole.Button, new() { Name = "Change password" }).ClickAsync();
        await pat.Page.GetByLabel("Email or phone number").FillAsync(phone);
        await pat.Page.GetByLabel("Password").FillAsync("phone-reset-passphrase");
        await pat.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await pat.ExpectSignedInAsync();
    });

    /// <summary>A password of <paramref name="characters"/> emoji: each one character, two UTF-16 units.</summary>
    private static string EmojiPassword(int characters) =>
        string.Concat(Enumerable.Range(0, characters).Select(i => char.ConvertFromUtf32(0x1F600 + i % 64)));

    [Fact(Timeout = Limits.TestMs)]
    public Task A_password_counts_an_emoji_as_one_character_as_the_server_does() => Scenario.RunAsync(browser, async s =>
    {
        var emma = await s.OpenAsync("Emma Emoji");
        var page = emma.Page;
        await page.GetByRole(AriaRole.Button, new() { Name = "Create an account" }).ClickAsync();
        await page.GetByLabel("Your name").FillAsync(emma.Name);
        await page.GetByLabel("Email").FillAsync(emma.Email);
        var create = page.GetByRole(AriaRole.Button, new() { Name = "Create account", Exact = true });

        // Four emoji are eight UTF-16 units but four characters: refused here, with the page's own sentence.
        await page.GetByLabel("Password").FillAsync(EmojiPassword(4));
        await create.ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("The password must be at least 8 characters.");
        // 129 are refused whole rather than cut to fit.
        await page.GetByLabel("Password").FillAsync(EmojiPassword(129));
        await create.ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("The password must be at most 128 characters.");

        // 128 emoji (256 units) are the longest password: all of it is the password.
        var longest = EmojiPassword(128);
        await page.GetByLabel("Password").FillAsync(longest);
        Assert.Equal(longest, await page.GetByLabel("Password").InputValueAsync());
        await create.ClickAsync();
        await emma.ExpectSignedInAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await page.GetByLabel("Email or phone number").FillAsync(emma.Email);
        await page.GetByLabel("Password").FillAsync(longest);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await emma.ExpectSignedInAsync();
    });
}
