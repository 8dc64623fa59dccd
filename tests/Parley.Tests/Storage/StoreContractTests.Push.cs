using Parley.Server.Storage;

namespace Parley.Tests.Storage;

public abstract partial class StoreContractTests
{
    private static PushSubscriptionRecord Subscription(UserRecord user, string endpoint, string sealedAuth) =>
        new(endpoint, user.Id, "p256dh", sealedAuth, 1);

    [StoreFact]
    public async Task A_dead_subscription_is_deleted_only_as_it_was_read_so_a_renewed_one_stays()
    {
        var ann = await UserAsync();
        var bob = await UserAsync();
        var endpoint = "https://push.example/" + Guid.NewGuid().ToString("N");
        Assert.True(await Store.AddPushSubscriptionAsync(Subscription(ann, endpoint, "sealed-1"), 5));
        var queued = Assert.Single(await Store.GetPushSubscriptionsAsync([ann.Id]));

        // The browser registers the endpoint again (new sealed secret) while a notification read
        // the old one; that notification's failure must not take the new registration with it.
        Assert.True(await Store.AddPushSubscriptionAsync(Subscription(ann, endpoint, "sealed-2"), 5));
        await Store.DeletePushSubscriptionAsync(queued);
        var renewed = Assert.Single(await Store.GetPushSubscriptionsAsync([ann.Id]));
        Assert.Equal("sealed-2", renewed.Auth);

        // Nor may it take the endpoint from the account the browser signed in to since.
        Assert.True(await Store.AddPushSubscriptionAsync(Subscription(bob, endpoint, "sealed-3"), 5));
        await Store.DeletePushSubscriptionAsync(renewed);
        Assert.Equal("sealed-3", Assert.Single(await Store.GetPushSubscriptionsAsync([bob.Id])).Auth);

        // The subscription as it is stored goes, and the endpoint can be registered anew.
        await Store.DeletePushSubscriptionAsync(Assert.Single(await Store.GetPushSubscriptionsAsync([bob.Id])));
        Assert.Empty(await Store.GetPushSubscriptionsAsync([ann.Id, bob.Id]));
        Assert.True(await Store.AddPushSubscriptionAsync(Subscription(ann, endpoint, "sealed-4"), 5));
        Assert.Equal("sealed-4", Assert.Single(await Store.GetPushSubscriptionsAsync([ann.Id])).Auth);
    }
}
