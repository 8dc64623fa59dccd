using Microsoft.Playwright;
using Parley.BrowserTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Parley.BrowserTests;

[Collection(BrowserCollection.Name)]
public sealed class ProfileTests(BrowserFixture browser)
{
    /// <summary>A 2×2 PNG.</summary>
    private static readonly byte[] Png = Convert.FromBase64String(
        "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGNgYPj/n4GB4T8DAwMDAwAt8gP9TPq2WQAAAABJRU5ErkJggg==");

    [Fact(Timeout = Limits.TestMs)]
    public Task The_profile_dialog_renames_and_sets_a_photo() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var header = alice.Page.GetByRole(AriaRole.Button, new() { Name = "Your profile" });
        await Expect(header.Locator(".avatar-initials")).ToHaveTextAsync("AA");

        await header.ClickAsync();
        var dialog = alice.Page.GetByRole(AriaRole.Dialog, new() { Name = "Your profile" });
        await dialog.Locator("input[type=file]").SetInputFilesAsync(new FilePayload { Name = "me.png", MimeType = "image/png", Buffer = Png });
        await Expect(dialog.Locator(".avatar img")).ToHaveCountAsync(1);
        await Expect(header.Locator(".avatar img")).ToHaveCountAsync(1);

        await dialog.GetByLabel("Your name").FillAsync("Alice A. Archer");
        await dialog.GetByLabel("About").FillAsync("Out skiing");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Expect(dialog).ToBeHiddenAsync();
        await Expect(alice.Page.Locator(".me-name")).ToHaveTextAsync("Alice A. Archer");

        // Both are the server's: a reload shows them.
        await alice.Page.ReloadAsync();
        await alice.ExpectSignedInAsync();
        await Expect(alice.Page.Locator(".me-name")).ToHaveTextAsync("Alice A. Archer");
        await Expect(header.Locator(".avatar img")).ToHaveCountAsync(1);
    });
}
