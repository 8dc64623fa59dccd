using System.Security.Cryptography;
using Microsoft.Playwright;
using Parley.BrowserTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Parley.BrowserTests;

/// <summary>Two-step verification from the web client: turn it on in the profile (key, first code,
/// recovery codes), sign in with a code, and turn it off again.</summary>
[Collection(BrowserCollection.Name)]
public sealed class TwoStepTests(BrowserFixture browser)
{
    [Fact(Timeout = Limits.TestMs)]
    public Task Turning_on_signing_in_with_a_code_and_turning_off() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var page = alice.Page;
        await page.GetByRole(AriaRole.Button, new() { Name = "Your profile" }).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog, new() { Name = "Your profile" });

        await dialog.GetByRole(AriaRole.Button, new() { Name = "Turn on two-step verification" }).ClickAsync();
        var secret = (await dialog.Locator("#mfa-secret").TextContentAsync())!.Trim();
        Assert.StartsWith("otpauth://totp/", await dialog.Locator("#mfa-uri").GetAttributeAsync("href"));
        var step = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 30;
        await dialog.GetByLabel("Code from the app").FillAsync(Code(secret, step));
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Confirm" }).ClickAsync();
        var recoveryCodes = dialog.Locator("#mfa-recovery-codes li");
        await Expect(recoveryCodes).ToHaveCountAsync(10);
        var recovery = (await recoveryCodes.Nth(0).TextContentAsync())!.Trim();
        await alice.ScreenshotAsync("two-step-recovery-codes");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Done" }).ClickAsync();
        await page.Keyboard.PressAsync("Escape");
        await Expect(dialog).ToBeHiddenAsync();

        // Signing in now asks for a code; a wrong one is refused with the server's sentence.
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await page.GetByLabel("Email").FillAsync(alice.Email);
        await page.GetByLabel("Password").FillAsync(ChatUser.Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Two-step verification" })).ToBeVisibleAsync();
        await page.GetByLabel("Code from your authenticator app").FillAsync(Code(secret, step + 5));
        await page.GetByRole(AriaRole.Button, new() { Name = "Verify" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert).Filter(new() { HasText = "wrong" })).ToBeVisibleAsync();
        // The step used to confirm is spent; the next one (within a step of drift) signs in.
        await page.GetByLabel("Code from your authenticator app").FillAsync(Code(secret, step + 1));
        await page.GetByRole(AriaRole.Button, new() { Name = "Verify" }).ClickAsync();
        await alice.ExpectSignedInAsync();

        // Off again, with a recovery code; then the password alone signs in.
        await page.GetByRole(AriaRole.Button, new() { Name = "Your profile" }).ClickAsync();
        await dialog.GetByLabel("Current code (or a recovery code)").FillAsync(recovery);
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Turn off" }).ClickAsync();
        await Expect(dialog.GetByRole(AriaRole.Button, new() { Name = "Turn on two-step verification" })).ToBeVisibleAsync();
        await page.Keyboard.PressAsync("Escape");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await alice.SignInAsync();
    });

    /// <summary>What an authenticator app shows (RFC 6238: HMAC-SHA1, 30-second steps, six digits).</summary>
    private static string Code(string base32Secret, long step)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        var key = new List<byte>();
        int buffer = 0, bits = 0;
        foreach (var c in base32Secret)
        {
            buffer = (buffer << 5) | alphabet.IndexOf(c);
            bits += 5;
            if (bits >= 8)
            {
                key.Add((byte)(buffer >> (bits - 8)));
                bits -= 8;
            }
        }
        var counter = BitConverter.GetBytes(step);
        if (BitConverter.IsLittleEndian) Array.Reverse(counter);
        var hash = HMACSHA1.HashData(key.ToArray(), counter);
        var offset = hash[19] & 0xf;
        var value = ((hash[offset] & 0x7f) << 24) | (hash[offset + 1] << 16) | (hash[offset + 2] << 8) | hash[offset + 3];
        return (value % 1_000_000).ToString("D6");
    }
}
