using System.Text;
using Microsoft.Playwright;
using Parley.BrowserTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Parley.BrowserTests.Features;

/// <summary>Photos and files: attach by picker, drop or paste, upload progress, thumbnail, viewer,
/// download; and replies with their quote.</summary>
[Collection(BrowserCollection.Name)]
public sealed class MediaAndReplyTests(BrowserFixture browser)
{
    [Fact(Timeout = Limits.TestMs)]
    public Task Two_people_exchange_a_photo_and_a_reply_to_it() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        await alice.StartChatWithAsync(bob);
        await alice.SendAsync("Look at this");

        await alice.SendFileAsync("beach.png", "image/png", ClientActions.Png, caption: "The beach today");
        var sent = alice.Row("The beach today");
        await Expect(sent.Locator(".media-thumb img")).ToBeVisibleAsync();
        await Expect(sent.Locator(".upload-progress")).ToHaveCountAsync(0);
        await Expect(sent.Locator(".ticks")).ToHaveAttributeAsync("data-status", new System.Text.RegularExpressions.Regex("sent|delivered|read"));

        // Bob sees the thumbnail (the picture's own pixels) and opens it in the viewer.
        await bob.OpenChatAsync("Alice Archer");
        var received = bob.Row("The beach today");
        var thumb = received.Locator(".media-thumb img");
        await Expect(thumb).ToBeVisibleAsync();
        Assert.Equal(2, await thumb.EvaluateAsync<int>("img => img.naturalWidth"));
        await Expect(bob.ChatItem("Alice Archer").Locator(".preview-text")).ToHaveTextAsync("📷 The beach today");
        await received.GetByRole(AriaRole.Button, new() { Name = "Open photo beach.png" }).ClickAsync();
        var viewer = bob.Page.GetByRole(AriaRole.Dialog, new() { Name = "Photo" });
        await Expect(viewer.Locator("img.viewer-media")).ToBeVisibleAsync();
        await bob.ScreenshotAsync("10-photo-viewer");
        await bob.Page.Keyboard.PressAsync("Escape");
        await Expect(viewer).ToBeHiddenAsync();

        // He replies to the photo: the quote names Alice and shows the caption.
        await bob.ChooseFromMenuAsync("The beach today", "Reply");
        await Expect(bob.Page.Locator(".compose-context")).ToContainTextAsync("Replying to Alice Archer");
        await bob.SendAsync("Lovely!");
        var reply = bob.Message("Lovely!");
        await Expect(reply.Locator(".quote")).ToContainTextAsync("The beach today");
        await Expect(bob.Page.Locator(".compose-context")).ToBeHiddenAsync();

        var replyAtAlice = alice.Message("Lovely!");
        await Expect(replyAtAlice.Locator(".quote .quote-author")).ToHaveTextAsync("You");
        await Expect(replyAtAlice.Locator(".quote .quote-text")).ToHaveTextAsync("The beach today");
        await alice.ScreenshotAsync("11-photo-and-reply");
        // Clicking the quote goes to the original.
        await replyAtAlice.Locator(".quote").ClickAsync();
        await Expect(alice.Page.Locator(".msg-row.flash .media-thumb img")).ToBeInViewportAsync();
        Assert.Empty(alice.ConsoleErrors);
        Assert.Empty(bob.ConsoleErrors);
    });

    [Fact(Timeout = Limits.TestMs)]
    public Task A_dropped_file_uploads_with_progress_and_downloads_with_its_name_and_a_pasted_picture_is_sent() => Scenario.RunAsync(browser, async s =>
    {
        var alice = await s.RegisterAsync("Alice Archer");
        var bob = await s.RegisterAsync("Bob Baker");
        await alice.StartChatWithAsync(bob);
        await alice.SendAsync("Notes coming");

        // A 3 MB file dropped on the conversation: the bubble shows a progress bar until it is stored.
        var text = string.Concat(Enumerable.Repeat("Meeting notes, line of text.\n", 110_000));
        await alice.Page.EvaluateAsync(@"text => {
            const data = new DataTransfer();
            data.items.add(new File([text], 'notes.txt', { type: 'text/plain' }));
            const target = document.querySelector('.messages');
            for (const type of ['dragenter', 'dragover', 'drop']) target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: data }));
        }", text);
        var dialog = alice.Page.GetByRole(AriaRole.Dialog, new() { Name = "Send file" });
        await Expect(dialog).ToContainTextAsync("notes.txt");
        // A slow uplink (Chromium's network emulation), so the progress can be seen moving.
        var cdp = await alice.Page.Context.NewCDPSessionAsync(alice.Page);
        await cdp.SendAsync("Network.enable");
        await cdp.SendAsync("Network.emulateNetworkConditions", new Dictionary<string, object>
        {
            ["offline"] = false, ["latency"] = 0, ["downloadThroughput"] = -1, ["uploadThroughput"] = 1_000_000,
        });
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Send", Exact = true }).ClickAsync();
        await alice.Page.WaitForFunctionAsync("() => { const p = document.querySelector('.msg-row.upload .upload-progress'); return p && p.value > 0.05 && p.value < 0.95; }");
        await cdp.SendAsync("Network.emulateNetworkConditions", new Dictionary<string, object>
        {
            ["offline"] = false, ["latency"] = 0, ["downloadThroughput"] = -1, ["uploadThroughput"] = -1,
        });
        var card = alice.Row("notes.txt");
        await Expect(card.Locator(".file-card")).ToBeVisibleAsync();
        await Expect(alice.Page.Locator(".msg-row.upload")).ToHaveCountAsync(0);

        await bob.OpenChatAsync("Alice Archer");
        var file = bob.Row("notes.txt");
        await Expect(file.Locator(".file-size")).ToHaveTextAsync("3.0 MB");
        var download = await bob.Page.RunAndWaitForDownloadAsync(() => file.GetByRole(AriaRole.Button, new() { Name = "Download notes.txt" }).ClickAsync());
        Assert.Equal("notes.txt", download.SuggestedFilename);
        var path = await download.PathAsync();
        Assert.Equal(text, await File.ReadAllTextAsync(path!, Encoding.UTF8));

        // A picture pasted into the composer goes the same way.
        await bob.Composer.FocusAsync();
        await bob.Page.EvaluateAsync(@"bytes => {
            const data = new DataTransfer();
            data.items.add(new File([new Uint8Array(bytes)], 'pasted.png', { type: 'image/png' }));
            document.querySelector('#composer-input').dispatchEvent(new ClipboardEvent('paste', { bubbles: true, cancelable: true, clipboardData: data }));
        }", ClientActions.Png.Select(b => (int)b).ToArray());
        var pasteDialog = bob.Page.GetByRole(AriaRole.Dialog, new() { Name = "Send file" });
        await pasteDialog.GetByLabel("Caption").FillAsync("From the clipboard");
        await pasteDialog.GetByRole(AriaRole.Button, new() { Name = "Send", Exact = true }).ClickAsync();
        await Expect(alice.Row("From the clipboard").Locator(".media-thumb img")).ToBeVisibleAsync();
    });
}
