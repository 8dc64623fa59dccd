using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Auth;
using Parley.Server.Storage;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Push;

/// <summary>A push endpoint is a URL any account registers, so the server only ever sends pushes to
/// the public internet: an endpoint naming this machine or a private network is refused, and one
/// whose host name resolves there is refused when the push would connect, and deleted.</summary>
public sealed class PushEndpointAddressTests : IAsyncLifetime
{
    private TestPushService _push = null!;
    private ParleyServer _server = null!;

    public async Task InitializeAsync()
    {
        _push = await TestPushService.StartAsync();
        // http is allowed, as for a push service on a test machine; private addresses are not.
        _server = await ParleyServer.StartAsync(new Dictionary<string, string?>
        {
            ["Parley:Push:AllowInsecureEndpoints"] = "true",
            ["Parley:Push:DelaySeconds"] = "0.2",
        });
        _push.ExpectedVapidKey = await PushNotificationTests.VapidKeyAsync(_server);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _push.DisposeAsync();
    }

    [Theory]
    [InlineData("https://127.0.0.1/push/x")]
    [InlineData("https://127.9.9.9:8443/push/x")]
    [InlineData("https://2130706433/push/x")]
    [InlineData("https://localhost/push/x")]
    [InlineData("https://localhost./push/x")]
    [InlineData("https://192.0.2.7/push/x")]
    [InlineData("https://push.localhost/x")]
    [InlineData("https://10.1.2.3/push/x")]
    [InlineData("https://172.20.0.5/push/x")]
    [InlineData("https://192.168.1.1/push/x")]
    [InlineData("https://100.64.0.1/push/x")]
    [InlineData("https://169.254.169.254/latest/meta-data/")]
    [InlineData("https://0.0.0.0/push/x")]
    [InlineData("https://[::1]/push/x")]
    [InlineData("https://[fd12:3456::1]/push/x")]
    [InlineData("https://[fe80::1]/push/x")]
    [InlineData("https://[::ffff:10.0.0.1]/push/x")]
    public async Task An_endpoint_naming_this_machine_or_a_private_network_is_refused(string endpoint)
    {
        var bob = await ApiClient.CreateUserAsync(_server, "Bob");
        var subscription = _push.NewSubscription();
        var response = await bob.Api.PostAsync("/push/subscriptions", new { endpoint, keys = new { p256dh = subscription.P256dh, auth = subscription.Auth } });
        Assert.Contains("public internet", response.AssertError(HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Empty(await Subscriptions(bob));
    }

    [Fact]
    public async Task A_subscription_that_reaches_this_machine_gets_no_push_and_is_deleted()
    {
        // Stored as one made before endpoints were checked would be (or one whose host name
        // resolves here): the push service on this machine's loopback would take the push.
        var ann = await ApiClient.CreateUserAsync(_server, "Ann");
        var bob = await ApiClient.CreateUserAsync(_server, "Bob");
        var subscription = _push.NewSubscription();
        var endpoint = subscription.Endpoint.ToString();
        var seal = _server.Services.GetRequiredService<SecretSeal>();
        Assert.True(await _server.Services.GetRequiredService<IParleyStore>().AddPushSubscriptionAsync(
            new PushSubscriptionRecord(endpoint, bob.Id, subscription.P256dh, seal.SealText(subscription.Auth, SecretSeal.PushPurpose(endpoint)),
                DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()), 10));

        var chatId = await ann.OpenChatWithAsync(bob);
        await ann.SendTextAsync(chatId, "Lunch?");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await Subscriptions(bob)).Count > 0 && DateTime.UtcNow < deadline) await Task.Delay(100);

        Assert.Empty(await Subscriptions(bob));
        Assert.Contains(_server.Logs, line => line.Contains("resolves only to loopback, private or reserved addresses; deleted it", StringComparison.Ordinal));
        Assert.Empty(_push.Received);
        Assert.Equal(0, subscription.Requests);
    }

    private Task<IReadOnlyList<PushSubscriptionRecord>> Subscriptions(TestUser user) =>
        _server.Services.GetRequiredService<IParleyStore>().GetPushSubscriptionsAsync([user.Id]);
}
