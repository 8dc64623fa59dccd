using Microsoft.Playwright;
using Parley.BrowserTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Parley.BrowserTests;

[Collection(BrowserCollection.Name)]
public sealed class SmokeTests(BrowserFixture browser)
{
    [Fact]
    public async Task The_client_is_served_at_the_root()
    {
        await using var server = await TestServer.StartAsync();
        await using var context = await browser.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(server.Url().ToString());
        await Expect(page).ToHaveTitleAsync("Parley");
        await server.RestartAsync();
        await page.ReloadAsync();
        await Expect(page).ToHaveTitleAsync("Parley");
    }
}
