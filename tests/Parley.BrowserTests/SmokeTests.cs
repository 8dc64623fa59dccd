using Microsoft.Playwright;
using Parley.BrowserTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Parley.BrowserTests;

[Collection(BrowserCollection.Name)]
public sealed class SmokeTests(BrowserFixture browser)
{
    [Fact(Timeout = Limits.TestMs)]
    public async Task The_client_is_served_at_the_root_with_its_assets()
    {
        await using var server = await TestServer.StartAsync();
        await using var user = await ChatUser.OpenAsync(browser, server, "Nobody");
        await Expect(user.Page).ToHaveTitleAsync("Parley");
        await Expect(user.Page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" })).ToBeVisibleAsync();
        await user.ScreenshotAsync("01-sign-in");
        Assert.Empty(user.ConsoleErrors);
    }
}
