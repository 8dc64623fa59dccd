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
    /// <summary>Stands in for the browser's vendor push service, which this machine cannot reach: the
    /// page's PushManager answers with the subscription kept in localStorage ("test-push"), and a new
    /// subscription gets the same endpoint with "-renewed" appended.</summary>
    private const string FakeSubscriptions =
        """
        (() => {
          const config = JSON.parse(localStorage.getItem('test-push') ?? 'null');
          if (!config) return;
          const bytes = b64 => Uint8Array.from(atob(b64.replace(/-/g, '+').replace(/_/g, '/')), c => c.charCodeAt(0)).buffer;
          const make = (endpoint, key) => ({
            endpoint,
            options: { applicationServerKey: key },
            toJSON: () => ({ endpoint, keys: { p256dh: config.p256dh, auth: config.auth } }),
            unsubscribe: async () => { window.testPush.current = null; window.testPush.unsubscribed = true; return true; },
          });
          window.testPush = { current: make(config.endpoint, config.key ? bytes(config.key) : null), unsubscribed: false };
          PushManager.prototype.getSubscription = async () => window.testPush.current;
          PushManager.prototype.subscribe = async options => (window.testPush.current = make(config.endpoint + '-renewed', options.applicationServerKey));
        })();
        """;

    [Fact(Timeout = Limits.TestMs)]
    public Task A_browser_with_a_subscription_registers_it_again_at_each_start_and_subscribes_anew_when_the_server_key_changed() => Scenario.RunAsync(browser, async s =>
    {
        var bob = await s.RegisterAsync("Bob Baker");
        await bob.Context.GrantPermissionsAsync(["notifications"], new() { Origin = s.Server.Url().GetLeftPart(UriPartial.Authority) });
        await bob.Context.AddInitScriptAsync(FakeSubscriptions);
        using var browserKey = System.Security.Cryptography.ECDiffieHellman.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var point = browserKey.ExportParameters(false).Q;
        var p256dh = System.Buffers.Text.Base64Url.EncodeToString([0x04, .. point.X!, .. point.Y!]);
        var auth = System.Buffers.Text.Base64Url.EncodeToString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var serverKey = await bob.Page.EvaluateAsync<string>("async () => (await (await fetch('/push/vapid-public-key', { headers: { authorization: 'Bearer ' + JSON.parse(localStorage.getItem('parley.session')).accessToken } })).json()).publicKey");
        await bob.Page.EvaluateAsync("() => navigator.serviceWorker.register('/sw.js', { scope: '/' }).then(() => navigator.serviceWorker.ready)");

        // Made with the server's key: the same subscription is registered again, and push shows as on.
        var endpoint = "https://push.example.invalid/sub/" + Guid.NewGuid().ToString("N");
        await bob.Page.EvaluateAsync("c => localStorage.setItem('test-push', JSON.stringify(c))", new { endpoint, p256dh, auth, key = serverKey });
        var registered = bob.Page.WaitForResponseAsync(r => r.Url.EndsWith("/push/subscriptions") && r.Request.Method == "POST");
        await bob.Page.ReloadAsync();
        var response = await registered;
        Assert.Equal(201, response.Status);
        Assert.Equal(endpoint, JsonDocument.Parse(response.Request.PostData!).RootElement.GetProperty("endpoint").GetString());
        await bob.ExpectSignedInAsync();
        await Expect(bob.Page.GetByRole(AriaRole.Button, new() { Name = "Turn on notifications" })).ToBeHiddenAsync();

        // Made with a key the server no longer has (its keys were reset): subscribed anew with the new key.
        var otherKey = System.Buffers.Text.Base64Url.EncodeToString([0x04, .. System.Security.Cryptography.RandomNumberGenerator.GetBytes(64)]);
        await bob.Page.EvaluateAsync("c => localStorage.setItem('test-push', JSON.stringify(c))", new { endpoint, p256dh, auth, key = otherKey });
        registered = bob.Page.WaitForResponseAsync(r => r.Url.EndsWith("/push/subscriptions") && r.Request.Method == "POST");
        await bob.Page.ReloadAsync();
        response = await registered;
        Assert.Equal(201, response.Status);
        Assert.Equal(endpoint + "-renewed", JsonDocument.Parse(response.Request.PostData!).RootElement.GetProperty("endpoint").GetString());
        Assert.True(await bob.Page.EvaluateAsync<bool>("() => window.testPush.unsubscribed"));
    });
}
