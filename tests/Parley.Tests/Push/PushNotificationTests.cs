using System.Buffers.Text;
using System.Net;
using System.Text.Json;
using Parley.Testing;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Push;

/// <summary>Web Push end to end: the server signs with its VAPID key and encrypts for each
/// subscription; <see cref="TestPushService"/> checks both, as a browser vendor's service would.</summary>
public sealed class PushNotificationTests : IAsyncLifetime
{
    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["Parley:Push:AllowInsecureEndpoints"] = "true",
        ["Parley:Push:AllowPrivateEndpoints"] = "true",
        ["Parley:Push:DelaySeconds"] = "0.5",
    };

    private TestPushService _push = null!;
    private ParleyServer _server = null!;

    public async Task InitializeAsync()
    {
        _push = await TestPushService.StartAsync();
        _server = await ParleyServer.StartAsync(Settings);
        _push.ExpectedVapidKey = await VapidKeyAsync(_server);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _push.DisposeAsync();
    }

    internal static async Task<string> VapidKeyAsync(ParleyServer server)
    {
        var user = await ApiClient.CreateUserAsync(server);
        var response = await user.Api.GetAsync("/push/vapid-public-key");
        response.AssertStatus(HttpStatusCode.OK, "GET /push/vapid-public-key");
        return response.Json.Str("publicKey")!;
    }

    private async Task<TestPushService.Subscription> SubscribeAsync(TestUser user)
    {
        var subscription = _push.NewSubscription();
        (await user.Api.PostAsync("/push/subscriptions", subscription.Body)).AssertStatus(HttpStatusCode.Created, "subscribe");
        return subscription;
    }

    [Fact]
    public async Task The_vapid_key_is_a_P256_point_kept_in_the_store_across_restarts()
    {
        var dir = Path.Combine(Path.GetTempPath(), "parley-tests", Guid.NewGuid().ToString("N"));
        string first;
        await using (var server = await ParleyServer.StartAsync(dataDirectory: dir))
        {
            first = await VapidKeyAsync(server);
        }
        var bytes = Base64Url.DecodeFromChars(first);
        Assert.Equal(65, bytes.Length);
        Assert.Equal(0x04, bytes[0]);
        await using var again = await ParleyServer.StartAsync(dataDirectory: dir);
        Assert.Equal(first, await VapidKeyAsync(again));
        Assert.Equal(HttpStatusCode.Unauthorized, (await again.Api().GetAsync("/push/vapid-public-key")).Status);
        await TestBackend.ReleaseAsync(dir);
    }

    [Fact]
    public async Task An_offline_recipient_gets_one_signed_encrypted_push_per_subscription_with_chat_sender_and_preview()
    {
        var ann = await ApiClient.CreateUserAsync(_server, "Ann");
        var bob = await ApiClient.CreateUserAsync(_server, "Bob");
        var laptop = await SubscribeAsync(bob);
        var phone = await SubscribeAsync(bob);
        var annsOwn = await SubscribeAsync(ann);
        var chatId = await ann.OpenChatWithAsync(bob);
        var sent = await ann.SendTextAsync(chatId, "Lunch at noon?");

        foreach (var subscription in new[] { laptop, phone })
        {
            var push = await _push.WaitForAsync(subscription);
            Assert.Equal(chatId, push.Payload.Str("chatId"));
            Assert.Equal(sent.Str("id"), push.Payload.Str("messageId"));
            Assert.Equal("Ann", push.Payload.Str("senderName"));
            Assert.Equal("Ann", push.Payload.Str("title"));
            Assert.Equal("Lunch at noon?", push.Payload.Str("body"));
            Assert.Equal("86400", push.Ttl);
            Assert.Matches("^[A-Za-z0-9_-]{1,32}$", push.Topic!);
        }
        // The same chat always has the same topic, so a push service keeps only its newest notification.
        await ann.SendTextAsync(chatId, "Or one?");
        var second = await _push.WaitForAsync(laptop, p => p.Str("body") == "Or one?");
        Assert.Equal(_push.For(laptop).First().Topic, second.Topic);
        // The sender gets no push for her own message; her reply from Bob reaches her.
        await bob.SendTextAsync(chatId, "Noon works");
        var toAnn = await _push.WaitForAsync(annsOwn);
        Assert.Equal("Noon works", toAnn.Payload.Str("body"));
        Assert.Single(_push.For(annsOwn));
    }

    [Fact]
    public async Task A_long_preview_is_cut_to_100_characters_and_never_inside_an_emoji()
    {
        var ann = await ApiClient.CreateUserAsync(_server, "Ann");
        var bob = await ApiClient.CreateUserAsync(_server, "Bob");
        var bobs = await SubscribeAsync(bob);
        var chatId = await ann.OpenChatWithAsync(bob);
        await ann.SendTextAsync(chatId, "x" + Texts.Repeat(Texts.Emoji, 150));
        var push = await _push.WaitForAsync(bobs);
        Assert.Equal("x" + Texts.Repeat(Texts.Emoji, 99) + "…", push.Payload.Str("body"));
    }

    [Fact]
    public async Task Group_pushes_name_the_group_and_the_sender_and_previews_off_leaves_the_text_out()
    {
        var ann = await ApiClient.CreateUserAsync(_server, "Ann");
        var bob = await ApiClient.CreateUserAsync(_server, "Bob");
        var groupId = await ann.CreateGroupAsync("Climbing", bob);
        var bobs = await SubscribeAsync(bob);
        await ann.SendTextAsync(groupId, "Rope check");
        var push = await _push.WaitForAsync(bobs);
        Assert.Equal("Climbing", push.Payload.Str("title"));
        Assert.Equal("Ann: Rope check", push.Payload.Str("body"));
        Assert.True(push.Payload.GetProperty("isGroup").GetBoolean());

        (await bob.Api.PutAsync($"/chats/{groupId}/settings", new { previews = false })).AssertStatus(HttpStatusCode.OK, "previews off");
        await ann.SendTextAsync(groupId, "The secret crag");
        var quiet = await _push.WaitForAsync(bobs, p => p.Str("messageId") != push.Payload.Str("messageId"));
        Assert.Equal("New message", quiet.Payload.Str("body"));
        Assert.DoesNotContain("secret crag", quiet.Payload.GetRawText());
    }

    [Fact]
    public async Task Muted_chats_sockets_that_took_the_message_deleted_messages_and_removed_subscriptions_get_no_push()
    {
        var ann = await ApiClient.CreateUserAsync(_server, "Ann");
        var bob = await ApiClient.CreateUserAsync(_server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        var bobs = await SubscribeAsync(bob);

        // Muted: nothing. Pushes are checked in the order of their messages, so once a later one
        // (from Carol, not muted) has arrived, the muted one was looked at and left out.
        var carol = await ApiClient.CreateUserAsync(_server, "Carol");
        var other = await carol.OpenChatWithAsync(bob);
        (await bob.Api.PutAsync($"/chats/{chatId}/settings", new { muted = true })).AssertStatus(HttpStatusCode.OK, "mute");
        await ann.SendTextAsync(chatId, "muted one");
        await carol.SendTextAsync(other, "from carol");
        await _push.WaitForAsync(bobs, p => p.Str("body") == "from carol");
        (await bob.Api.PutAsync($"/chats/{chatId}/settings", new { muted = false })).AssertStatus(HttpStatusCode.OK, "unmute");
        await ann.SendTextAsync(chatId, "after unmuting");
        await _push.WaitForAsync(bobs, p => p.Str("body") == "after unmuting");

        // An open socket takes it: nothing.
        await using (var socket = await bob.ConnectAsync(_server))
        {
            await ann.SendTextAsync(chatId, "while online");
            await socket.WaitForMessageAsync(chatId, "while online");
        }
        await WaitUntilOfflineAsync(ann, chatId, bob);
        await ann.SendTextAsync(chatId, "after going offline");
        await _push.WaitForAsync(bobs, p => p.Str("body") == "after going offline");

        Assert.DoesNotContain(_push.For(bobs), r => r.Payload.Str("body") is "muted one" or "while online");
        Assert.Empty(_push.Rejections);

        // Unsubscribed: the endpoint gets nothing more; another device of Bob's still does.
        (await bob.Api.DeleteAsync("/push/subscriptions?endpoint=" + Uri.EscapeDataString(bobs.Endpoint.ToString()))).AssertStatus(HttpStatusCode.NoContent, "unsubscribe");
        (await bob.Api.DeleteAsync("/push/subscriptions?endpoint=" + Uri.EscapeDataString(bobs.Endpoint.ToString()))).AssertStatus(HttpStatusCode.NotFound, "again");
        var newDevice = await SubscribeAsync(bob);
        await ann.SendTextAsync(chatId, "to the new device");
        await _push.WaitForAsync(newDevice, p => p.Str("body") == "to the new device");
        Assert.DoesNotContain(_push.For(bobs), r => r.Payload.Str("body") == "to the new device");
    }

    /// <summary>Presence goes offline only after the server let go of every socket of the user.</summary>
    private static async Task WaitUntilOfflineAsync(TestUser viewer, string chatId, TestUser user)
    {
        for (var i = 0; i < 300; i++)
        {
            var chat = await viewer.ChatAsync(chatId);
            if (chat.GetProperty("participants").EnumerateArray().Any(p => p.Str("id") == user.Id && !p.GetProperty("online").GetBoolean())) return;
            await Task.Delay(100);
        }
        throw new Xunit.Sdk.XunitException($"{user.Name} still shows online.");
    }

    [Fact]
    public async Task A_message_deleted_for_everyone_before_its_push_goes_out_is_never_pushed()
    {
        await using var slow = await ParleyServer.StartAsync(new Dictionary<string, string?>(Settings) { ["Parley:Push:DelaySeconds"] = "5" });
        var ann = await ApiClient.CreateUserAsync(slow, "Ann");
        var bob = await ApiClient.CreateUserAsync(slow, "Bob");
        _push.ExpectedVapidKey = null;
        var bobs = _push.NewSubscription();
        (await bob.Api.PostAsync("/push/subscriptions", bobs.Body)).AssertStatus(HttpStatusCode.Created, "subscribe");
        var chatId = await ann.OpenChatWithAsync(bob);
        var regret = await ann.SendTextAsync(chatId, "words I regret");
        (await ann.Api.DeleteAsync($"/messages/{regret.Str("id")}?for=everyone")).AssertStatus(HttpStatusCode.NoContent, "delete for everyone");
        await ann.SendTextAsync(chatId, "sorry");
        await _push.WaitForAsync(bobs, p => p.Str("body") == "sorry");
        Assert.DoesNotContain(_push.For(bobs), r => r.Payload.GetRawText().Contains("regret"));
    }

    [Fact]
    public async Task Busy_push_services_are_retried_and_gone_subscriptions_are_deleted()
    {
        var ann = await ApiClient.CreateUserAsync(_server, "Ann");
        var bob = await ApiClient.CreateUserAsync(_server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        var busy = _push.NewSubscription();
        busy.Answers.Enqueue((429, 1));
        busy.Answers.Enqueue((503, null));
        (await bob.Api.PostAsync("/push/subscriptions", busy.Body)).AssertStatus(HttpStatusCode.Created, "subscribe busy");
        var gone = _push.NewSubscription();
        gone.Answers.Enqueue((410, null));
        (await bob.Api.PostAsync("/push/subscriptions", gone.Body)).AssertStatus(HttpStatusCode.Created, "subscribe gone");

        await ann.SendTextAsync(chatId, "knock knock");
        var delivered = await _push.WaitForAsync(busy, p => p.Str("body") == "knock knock");
        Assert.Equal(3, delivered.Attempt);
        for (var i = 0; i < 200 && ServerDatabase.PushSubscriptionCount(_server, gone.Endpoint.ToString()) != 0; i++)
        {
            await Task.Delay(100);
        }
        Assert.Equal(0, ServerDatabase.PushSubscriptionCount(_server, gone.Endpoint.ToString()));
        Assert.Equal(1, ServerDatabase.PushSubscriptionCount(_server, busy.Endpoint.ToString()));
    }

    [Theory]
    [InlineData("""{"endpoint":"ftp://push.example.com/x","keys":{"p256dh":"P","auth":"A"}}""", "endpoint")]
    [InlineData("""{"endpoint":"not a url","keys":{"p256dh":"P","auth":"A"}}""", "endpoint")]
    [InlineData("""{"endpoint":"https://user:pw@push.example.com/x","keys":{"p256dh":"P","auth":"A"}}""", "endpoint")]
    [InlineData("""{"keys":{"p256dh":"P","auth":"A"}}""", "endpoint")]
    [InlineData("""{"endpoint":"https://push.example.com/x"}""", "p256dh")]
    [InlineData("""{"endpoint":"https://push.example.com/x","keys":{"p256dh":"BAAA","auth":"A"}}""", "p256dh")]
    [InlineData("""{"endpoint":"https://push.example.com/x","keys":{"p256dh":"GOOD","auth":"short"}}""", "auth")]
    public async Task Bad_subscriptions_are_refused_with_a_sentence(string body, string named)
    {
        var bob = await ApiClient.CreateUserAsync(_server, "Bob");
        var valid = _push.NewSubscription();
        var response = await bob.Api.PostAsync("/push/subscriptions", body.Replace("GOOD", valid.P256dh));
        Assert.Contains(named, response.AssertError(HttpStatusCode.BadRequest));
    }

    [Fact]
    public async Task Plain_http_endpoints_are_refused_unless_configured_and_each_account_has_a_cap()
    {
        await using var strict = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Push:MaxSubscriptionsPerUser"] = "2" });
        var bob = await ApiClient.CreateUserAsync(strict, "Bob");
        var local = _push.NewSubscription();
        Assert.Contains("endpoint", (await bob.Api.PostAsync("/push/subscriptions", local.Body)).AssertError(HttpStatusCode.BadRequest));
        object Https(int i) => new { endpoint = $"https://push.example.com/{i}", keys = new { p256dh = local.P256dh, auth = local.Auth } };
        (await bob.Api.PostAsync("/push/subscriptions", Https(1))).AssertStatus(HttpStatusCode.Created, "first");
        (await bob.Api.PostAsync("/push/subscriptions", Https(2))).AssertStatus(HttpStatusCode.Created, "second");
        (await bob.Api.PostAsync("/push/subscriptions", Https(2))).AssertStatus(HttpStatusCode.Created, "the same again");
        (await bob.Api.PostAsync("/push/subscriptions", Https(3))).AssertError(HttpStatusCode.BadRequest);
        (await bob.Api.DeleteAsync("/push/subscriptions")).AssertError(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Subscriptions_added_all_at_once_still_keep_to_the_cap()
    {
        await using var strict = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Push:MaxSubscriptionsPerUser"] = "3" });
        var bob = await ApiClient.CreateUserAsync(strict, "Bob");
        var keys = _push.NewSubscription();

        var statuses = await Task.WhenAll(Enumerable.Range(0, 12).Select(async i => (await bob.Api.PostAsync("/push/subscriptions",
            new { endpoint = $"https://push.example.com/{i}", keys = new { p256dh = keys.P256dh, auth = keys.Auth } })).Status));

        Assert.Equal(3, statuses.Count(s => s == HttpStatusCode.Created));
        Assert.Equal(9, statuses.Count(s => s == HttpStatusCode.BadRequest));
    }
}
