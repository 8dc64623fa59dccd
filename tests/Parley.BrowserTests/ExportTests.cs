using System.Text.Json;
using Microsoft.Playwright;
using Parley.BrowserTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Parley.BrowserTests;

[Collection(BrowserCollection.Name)]
public sealed class ExportTests(BrowserFixture browser)
{
    [Fact(Timeout = Limits.TestMs)]
    public Task Download_my_data_saves_the_profile_and_own_messages_as_a_json_file() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        await alice.StartChatWithAsync(bob);
        await alice.SendAsync("Words I keep");
        await bob.OpenChatAsync("Alice Archer");
        await bob.SendAsync("Words of Bob");
        await Expect(alice.Message("Words of Bob")).ToBeVisibleAsync();

        await alice.Page.GetByRole(AriaRole.Button, new() { Name = "Your profile" }).ClickAsync();
        var dialog = alice.Page.GetByRole(AriaRole.Dialog, new() { Name = "Your profile" });
        var download = await alice.Page.RunAndWaitForDownloadAsync(() => dialog.GetByRole(AriaRole.Button, new() { Name = "Download my data" }).ClickAsync());
        Assert.EndsWith(".json", download.SuggestedFilename);
        var path = await download.PathAsync();
        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(path));
        Assert.Equal(alice.Email, doc.RootElement.GetProperty("profile").GetProperty("email").GetString());
        var contents = doc.RootElement.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("content").GetString()).ToList();
        Assert.Equal(["Words I keep"], contents);
        Assert.Single(doc.RootElement.GetProperty("chats").EnumerateArray());
    });
}
