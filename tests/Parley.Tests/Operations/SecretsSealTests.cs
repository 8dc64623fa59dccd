using System.Net;
using System.Text;
using Parley.Testing;
using Parley.Tests.Auth;
using Parley.Tests.Cluster;
using Parley.Tests.Infrastructure;
using Parley.Tests.Push;

namespace Parley.Tests.Operations;

/// <summary>A secrets key set after the store has secrets, or changed: the server's own keys are
/// sealed with it at the next start, and <c>dotnet Parley.Server.dll secrets seal</c> seals the TOTP
/// secrets and push subscriptions, opening those sealed before with <c>Parley:Auth:PreviousSecretsKey</c>.</summary>
public sealed class SecretsSealTests : IAsyncLifetime
{
    private TestPushService _push = null!;

    public async Task InitializeAsync() => _push = await TestPushService.StartAsync();

    public async Task DisposeAsync() => await _push.DisposeAsync();

    private static Dictionary<string, string?> Settings(string? key, string? previousKey = null) => new()
    {
        ["Parley:Push:AllowInsecureEndpoints"] = "true",
        ["Parley:Push:AllowPrivateEndpoints"] = "true",
        ["Parley:Push:DelaySeconds"] = "0.2",
        ["Parley:Auth:SecretsKey"] = key,
        ["Parley:Auth:PreviousSecretsKey"] = previousKey,
    };

    /// <summary>What the tests put in the store: an account with two-step on, and one with a push subscription.</summary>
    private sealed record Secrets(TwoStepTests.Enrolled Enrolled, TestUser Sender, TestUser Subscriber, TestPushService.Subscription Subscription);

    private async Task<Secrets> StoreSecretsAsync(ParleyServer server)
    {
        _push.ExpectedVapidKey = await PushNotificationTests.VapidKeyAsync(server);
        var enrolled = await TwoStepTests.EnrolAsync(server);
        var sender = await ApiClient.CreateUserAsync(server, "Sender");
        var subscriber = await ApiClient.CreateUserAsync(server, "Subscriber");
        var subscription = _push.NewSubscription();
        (await subscriber.Api.PostAsync("/push/subscriptions", subscription.Body)).AssertStatus(HttpStatusCode.Created, "subscribe");
        return new Secrets(enrolled, sender, subscriber, subscription);
    }

    /// <summary>The forms a TOTP secret or a push auth secret could take in a dump of the store.</summary>
    private static byte[][] ClearForms(Secrets secrets)
    {
        var totp = TestTotp.FromBase32(secrets.Enrolled.Secret);
        return [totp, Encoding.ASCII.GetBytes(Convert.ToBase64String(totp)), Encoding.ASCII.GetBytes(Convert.ToHexStringLower(totp)),
            Encoding.ASCII.GetBytes(secrets.Subscription.Auth)];
    }

    private static int ClearFormsIn(ParleyServer server, Secrets secrets)
    {
        var raw = ServerDatabase.RawFiles(server);
        return ClearForms(secrets).Count(form => raw.AsSpan().IndexOf(form) >= 0);
    }

    /// <summary>The TOTP secret signs the account in (each time step signs in once, so a test does this
    /// once), and a message reaches the subscriber's push service encrypted with its auth secret.</summary>
    private async Task AssertSecretsWorkAsync(ParleyServer server, Secrets secrets, bool signInWithTotp = true)
    {
        if (signInWithTotp)
        {
            using var api = server.Api();
            var challenge = await api.PostAsync("/auth/login", new { email = secrets.Enrolled.User.Email, password = secrets.Enrolled.User.Password });
            (await api.PostAsync("/auth/mfa", new { mfaToken = challenge.Json.Str("mfaToken"), code = TestTotp.Code(secrets.Enrolled.Secret, secrets.Enrolled.ConfirmedStep + 1) }))
                .AssertStatus(HttpStatusCode.OK, "the second step with a code from the resealed secret");
        }
        var sender = await ApiClient.SignInAgainAsync(server, secrets.Sender);
        var subscriber = await ApiClient.SignInAgainAsync(server, secrets.Subscriber);
        var chatId = await sender.OpenChatWithAsync(subscriber);
        var text = "Sealed " + Guid.NewGuid().ToString("N");
        await sender.SendTextAsync(chatId, text);
        await _push.WaitForAsync(secrets.Subscription, p => p.Str("body") == text);
    }

    [Fact]
    public async Task A_key_set_later_seals_the_server_keys_at_the_next_start_and_secrets_seal_seals_the_rest()
    {
        await using var first = await ParleyServer.StartAsync(Settings(null));
        var secrets = await StoreSecretsAsync(first);
        string jwks;
        using (var http = first.CreateClient()) jwks = await http.GetStringAsync("/.well-known/jwks.json");
        Assert.DoesNotContain("sealed1:", ServerDatabase.StoredKeys(first).SigningKey);
        await first.StopAsync();

        var key = SealedSecretTests.NewKey();
        await using (var second = await ParleyServer.StartAsync(Settings(key), dataDirectory: first.DataDirectory))
        {
            // The same keys, now sealed: tokens issued before still verify, and the push service sees the same VAPID key.
            var (signingKey, vapidKey) = ServerDatabase.StoredKeys(second);
            Assert.StartsWith("sealed1:", signingKey);
            Assert.StartsWith("sealed1:", vapidKey);
            using (var http = second.CreateClient()) Assert.Equal(jwks, await http.GetStringAsync("/.well-known/jwks.json"));
            using (var old = second.Api(secrets.Sender.AccessToken)) (await old.GetAsync("/users/me")).AssertStatus(HttpStatusCode.OK, "a token issued before the key");
            Assert.True(ClearFormsIn(second, secrets) > 0, "the TOTP secret and push auth secret are still in clear before 'secrets seal'");
            await second.StopAsync();
        }

        var (exitCode, output) = await NodeProcess.RunCommandOnAsync(first, "secrets", "seal", $"--Parley:Auth:SecretsKey={key}");

        Assert.True(exitCode == 0, output);
        Assert.Contains("Sealed 2 stored secrets with Parley:Auth:SecretsKey; 3 were sealed with it already", output);
        await using var third = await ParleyServer.StartAsync(Settings(key), dataDirectory: first.DataDirectory);
        Assert.Equal(0, ClearFormsIn(third, secrets));
        await AssertSecretsWorkAsync(third, secrets);
        var (againCode, again) = await NodeProcess.RunCommandOnAsync(third, "secrets", "seal", $"--Parley:Auth:SecretsKey={key}");
        Assert.True(againCode == 0, again);
        Assert.Contains("Sealed 0 stored secrets", again);
    }

    [Fact]
    public async Task A_changed_key_opens_what_the_previous_one_sealed_and_after_secrets_seal_the_previous_one_can_go()
    {
        var oldKey = SealedSecretTests.NewKey();
        var newKey = SealedSecretTests.NewKey();
        await using var first = await ParleyServer.StartAsync(Settings(oldKey));
        var secrets = await StoreSecretsAsync(first);
        await first.StopAsync();

        await using (var rotating = await ParleyServer.StartAsync(Settings(newKey, oldKey), dataDirectory: first.DataDirectory))
        {
            // Both keys set: the subscription sealed with the old key still gets its pushes.
            await AssertSecretsWorkAsync(rotating, secrets, signInWithTotp: false);
            await rotating.StopAsync();
        }
        // The server's keys were sealed with the new one at that start, the TOTP secret and the
        // subscription not yet: without the previous key, what it sealed no longer opens.
        var (exitCode, output) = await NodeProcess.RunCommandOnAsync(first, "secrets", "seal", $"--Parley:Auth:SecretsKey={newKey}");
        Assert.True(exitCode == 0, output);
        Assert.Contains("Sealed 0 stored secrets with Parley:Auth:SecretsKey; 3 were sealed with it already, 2 are sealed with a value neither setting holds", output);

        (exitCode, output) = await NodeProcess.RunCommandOnAsync(first, "secrets", "seal",
            $"--Parley:Auth:SecretsKey={newKey}", $"--Parley:Auth:PreviousSecretsKey={oldKey}");
        Assert.True(exitCode == 0, output);
        Assert.Contains("Sealed 2 stored secrets with Parley:Auth:SecretsKey; 3 were sealed with it already.", output);

        await using var rotated = await ParleyServer.StartAsync(Settings(newKey), dataDirectory: first.DataDirectory);
        await AssertSecretsWorkAsync(rotated, secrets);
        await rotated.StopAsync();
        var oldOnly = await Assert.ThrowsAsync<InvalidOperationException>(() => ParleyServer.StartAsync(Settings(oldKey), dataDirectory: first.DataDirectory));
        Assert.Contains("Parley:Auth:SecretsKey does not open the store's", oldOnly.Message);
    }

    [Fact]
    public async Task A_subscription_sealed_with_a_forgotten_key_is_dropped_and_the_browser_can_subscribe_again()
    {
        await using var first = await ParleyServer.StartAsync(Settings(SealedSecretTests.NewKey()));
        var secrets = await StoreSecretsAsync(first);
        await first.StopAsync();
        var (exitCode, output) = await NodeProcess.RunCommandOnAsync(first, "secrets", "reset");
        Assert.True(exitCode == 0, output);

        await using var second = await ParleyServer.StartAsync(Settings(SealedSecretTests.NewKey()), dataDirectory: first.DataDirectory);
        _push.ExpectedVapidKey = await PushNotificationTests.VapidKeyAsync(second);
        var sender = await ApiClient.SignInAgainAsync(second, secrets.Sender);
        var subscriber = await ApiClient.SignInAgainAsync(second, secrets.Subscriber);
        var chatId = await sender.OpenChatWithAsync(subscriber);
        await sender.SendTextAsync(chatId, "Not for the old subscription");
        await ClusterWait.WaitUntilAsync(() => Task.FromResult(second.Logs.Any(l => l.Contains("cannot be opened; deleted it"))), "the unreadable subscription is dropped");
        Assert.Empty(_push.For(secrets.Subscription));

        // The browser subscribes again (same endpoint), and is sealed with the new key.
        (await subscriber.Api.PostAsync("/push/subscriptions", secrets.Subscription.Body)).AssertStatus(HttpStatusCode.Created, "subscribe again");
        await sender.SendTextAsync(chatId, "For the new one");
        await _push.WaitForAsync(secrets.Subscription, p => p.Str("body") == "For the new one");
    }

    [Fact]
    public async Task Sealing_without_a_key_or_with_a_previous_key_alone_is_refused_with_a_sentence()
    {
        await using var server = await ParleyServer.StartAsync();
        await server.StopAsync();

        var (noKeyCode, noKey) = await NodeProcess.RunCommandOnAsync(server, "secrets", "seal");
        var (previousOnlyCode, previousOnly) = await NodeProcess.RunCommandOnAsync(server, "secrets", "seal",
            $"--Parley:Auth:PreviousSecretsKey={SealedSecretTests.NewKey()}");

        Assert.Equal([1, 1], new[] { noKeyCode, previousOnlyCode });
        Assert.Contains("The stored secrets could not be sealed: Parley:Auth:SecretsKey is not set.", noKey);
        Assert.Contains("Parley:Auth:PreviousSecretsKey is set without Parley:Auth:SecretsKey", previousOnly);
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => ParleyServer.StartAsync(
            new Dictionary<string, string?> { ["Parley:Auth:PreviousSecretsKey"] = SealedSecretTests.NewKey() }, dataDirectory: server.DataDirectory));
        Assert.Contains("Parley:Auth:PreviousSecretsKey is set without Parley:Auth:SecretsKey", refused.Message);
    }
}
