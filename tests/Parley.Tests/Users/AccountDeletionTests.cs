using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Storage;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Users;

public sealed class AccountDeletionTests
{
    [Fact]
    public async Task Deleting_an_account_ends_its_sessions_and_shows_its_messages_as_from_a_deleted_account()
    {
        await using var server = await ParleyServer.StartAsync();
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        await bob.SendTextAsync(chatId, "hello from Bob");
        await using var bobSocket = await bob.ConnectAsync(server);

        (await bob.Api.DeleteAsync("/users/me")).AssertStatus(HttpStatusCode.NoContent, "DELETE /users/me");

        await bobSocket.WaitForEndAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, (await bob.Api.GetAsync("/users/me")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Api().PostAsync("/auth/refresh", new { refreshToken = bob.RefreshToken })).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Api().PostAsync("/auth/login", new { email = bob.Email, password = bob.Password })).Status);

        var history = await ann.HistoryAsync(chatId);
        Assert.Equal("Deleted account", history.Single().Str("senderName"));
        var users = await ann.Api.GetAsync("/users");
        Assert.DoesNotContain(users.Json.EnumerateArray(), u => u.Str("userId") == bob.Id);

        // The email is free again.
        var again = await server.Api().PostAsync("/auth/register", new { email = bob.Email, password = bob.Password, name = "Bob Again" });
        Assert.Equal(HttpStatusCode.Created, again.Status);
    }

    /// <summary>A browser's push endpoint and keys are the account's data too: they go with it, and
    /// the same browser can subscribe for another account afterwards.</summary>
    [Fact]
    public async Task Deleting_an_account_forgets_its_push_subscriptions()
    {
        await using var push = await TestPushService.StartAsync();
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?>
        {
            ["Parley:Push:AllowInsecureEndpoints"] = "true",
            ["Parley:Push:AllowPrivateEndpoints"] = "true",
        });
        var store = server.Services.GetRequiredService<IParleyStore>();
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var first = push.NewSubscription();
        var second = push.NewSubscription();
        (await bob.Api.PostAsync("/push/subscriptions", first.Body)).AssertStatus(HttpStatusCode.Created, "subscribe a browser");
        (await bob.Api.PostAsync("/push/subscriptions", second.Body)).AssertStatus(HttpStatusCode.Created, "subscribe another");
        Assert.Equal(2, (await store.GetPushSubscriptionsAsync([bob.Id])).Count);

        (await bob.Api.DeleteAsync("/users/me")).AssertStatus(HttpStatusCode.NoContent, "DELETE /users/me");

        Assert.Empty(await store.GetPushSubscriptionsAsync([bob.Id]));
    }
}
