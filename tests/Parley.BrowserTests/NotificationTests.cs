using System.Text.Json;
using Microsoft.Playwright;
using Parley.BrowserTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Parley.BrowserTests;

/// <summary>Web Push in the client: turning notifications on registers the service worker and asks
/// the browser's push service for a subscription; a push delivered to the service worker shows a
/// notification for the chat.</summary>
[Collection(BrowserCollection.Name)]
public sealed class NotificationTests(BrowserFixture browser)
{
    [Fact(Timeout = Limits.TestMs)]
    public Task Turning_notifications_on_registers_the_service_worker_and_a_push_shows_the_chat() => Scenario.RunAsync(browser, async s =>
    {
        var bob = await s.RegisterAsync("Bob Baker");
        await bob.Context.GrantPermissionsAsync(["notifications"], new() { Origin = s.Server.Url().GetLeftPart(UriPartial.Authority) });
        var turnOn = bob.Page.GetByRole(AriaRole.Button, new() { Name = "Turn on notifications" });
        await Expect(turnOn).ToBeVisibleAsync();
        var vapidAsked = bob.Page.WaitForResponseAsync(r => r.Url.EndsWith("/push/vapid-public-key") && r.Status == 200);
        await turnOn.ClickAsync();
        await vapidAsked;

        // Chromium subscribes through its vendor's push service. Where that is reachable the client
        // registers the subscription with Parley; in a sandbox without it, it says so plainly.
        var toast = bob.Page.Locator(".toast");
        await Expect(toast).ToContainTextAsync(new System.Text.RegularExpressions.Regex("Notifications are on|push service is not available"));
        if ((await toast.First.TextContentAsync())!.Contains("are on")) await Expect(turnOn).ToBeHiddenAsync();
        var script = await bob.Page.EvaluateAsync<string?>("async () => (await navigator.serviceWorker.getRegistration('/'))?.active?.scriptURL ?? null");
        Assert.EndsWith("/sw.js", script);

        // A push as the server sends it, handed to the service worker by the browser (decrypted).
        var cdp = await bob.Context.NewCDPSessionAsync(bob.Page);
        var registrationId = new TaskCompletionSource<string>();
        cdp.Event("ServiceWorker.workerRegistrationUpdated").OnEvent += (_, e) =>
        {
            foreach (var registration in e!.Value.GetProperty("registrations").EnumerateArray())
            {
                if (registration.GetProperty("scopeURL").GetString() == s.Server.Url().ToString()) registrationId.TrySetResult(registration.GetProperty("registrationId").GetString()!);
            }
        };
        await cdp.SendAsync("ServiceWorker.enable");
        var id = await registrationId.Task.WaitAsync(TimeSpan.FromSeconds(20));
        // The service worker stays quiet while a Parley tab has the focus: leave the page first.
        await bob.Page.GotoAsync("about:blank");
        var payload = JsonSerializer.Serialize(new { type = "message", chatId = "chat_a_b", messageId = "msg_1", title = "Alice Archer", body = "Are you there?", senderName = "Alice Archer" });
        await cdp.SendAsync("ServiceWorker.deliverPushMessage", new Dictionary<string, object>
        {
            ["origin"] = s.Server.Url().GetLeftPart(UriPartial.Authority),
            ["registrationId"] = id,
            ["data"] = payload,
        });
        await bob.Page.GotoAsync(s.Server.Url().ToString());
        await bob.ExpectSignedInAsync();
        var shown = "[]";
        for (var i = 0; i < 100 && shown == "[]"; i++)
        {
            shown = await bob.Page.EvaluateAsync<string>(
                "async () => JSON.stringify((await (await navigator.serviceWorker.ready).getNotifications()).map(n => ({ title: n.title, body: n.body, tag: n.tag, chatId: n.data?.chatId })))");
            if (shown == "[]") await Task.Delay(100);
        }
        using var notifications = JsonDocument.Parse(shown);
        var notification = Assert.Single(notifications.RootElement.EnumerateArray());
        Assert.Equal("Alice Archer", notification.GetProperty("title").GetString());
        Assert.Equal("Are you there?", notification.GetProperty("body").GetString());
        Assert.Equal("chat:chat_a_b", notification.GetProperty("tag").GetString());
        Assert.Equal("chat_a_b", notification.GetProperty("chatId").GetString());
    });
}
