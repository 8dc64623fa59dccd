using Microsoft.Playwright;
using Parley.BrowserTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Parley.BrowserTests;

[Collection(BrowserCollection.Name)]
public sealed class SmokeTests(BrowserFixture browser)
{
    [Fact]
    public async Task The_client_is_served_at_the_root_with_its_assets()
    {
        File.AppendAllText("/tmp/pwdiag.log", "start\n");
        await using var server = await TestServer.StartAsync();
        File.AppendAllText("/tmp/pwdiag.log", "server\n");
        await using var user = await ChatUser.OpenAsync(browser, server, "Nobody");
        File.AppendAllText("/tmp/pwdiag.log", "user\n");
        await Expect(user.Page).ToHaveTitleAsync("Parley");
        await Expect(user.Page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" })).ToBeVisibleAsync();
        await user.ScreenshotAsync("01-sign-in");
        Assert.Empty(user.ConsoleErrors);
    }
}
