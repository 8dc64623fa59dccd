using System.Net;
using System.Security.Cryptography;
using System.Text;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Auth;

/// <summary>The secrets the server must read back (its signing and VAPID keys, TOTP secrets) are
/// sealed with <c>Parley:Auth:SecretsKey</c> when it is set: a copy of the store alone holds none of
/// them, and a server without the right key refuses to start on it instead of failing later.</summary>
public sealed class SealedSecretTests
{
    internal static Dictionary<string, string?> WithKey(string key) => new() { ["Parley:Auth:SecretsKey"] = key };

    internal static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    [Fact]
    public async Task With_a_secrets_key_the_store_holds_the_keys_and_totp_secrets_sealed_and_they_still_work_after_a_restart()
    {
        var secretsKey = NewKey();
        await using var first = await ParleyServer.StartAsync(WithKey(secretsKey));
        var enrolled = await TwoStepTests.EnrolAsync(first);
        var session = await ApiClient.CreateUserAsync(first, "Keeps a token");

        var totp = TestTotp.FromBase32(enrolled.Secret);
        var raw = ServerDatabase.RawFiles(first);
        foreach (var form in new[] { totp, Encoding.ASCII.GetBytes(Convert.ToBase64String(totp)), Encoding.ASCII.GetBytes(Convert.ToHexString(totp)),
                     Encoding.ASCII.GetBytes(Convert.ToHexStringLower(totp)), Encoding.ASCII.GetBytes(enrolled.Secret) })
        {
            Assert.True(raw.AsSpan().IndexOf(form) < 0, $"the TOTP secret is in the store in clear ({Encoding.ASCII.GetString(form)})");
        }
        var (signingKey, vapidKey) = ServerDatabase.StoredKeys(first);
        Assert.StartsWith("sealed1:", signingKey);
        Assert.StartsWith("sealed1:", vapidKey);
        string jwks;
        using (var http = first.CreateClient()) jwks = await http.GetStringAsync("/.well-known/jwks.json");
        var vapidPublic = (await session.Api.GetAsync("/push/vapid-public-key")).Json.Str("publicKey");
        Assert.False(string.IsNullOrEmpty(vapidPublic));
        await first.StopAsync();

        // The same key opens them again: old tokens still verify, the VAPID key is the same, and
        // the enrolled account signs in with a code from its authenticator.
        await using var second = await ParleyServer.StartAsync(WithKey(secretsKey), dataDirectory: first.DataDirectory);
        using (var http = second.CreateClient()) Assert.Equal(jwks, await http.GetStringAsync("/.well-known/jwks.json"));
        using (var old = second.Api(session.AccessToken))
        {
            (await old.GetAsync("/users/me")).AssertStatus(HttpStatusCode.OK, "a token issued before the restart");
            Assert.Equal(vapidPublic, (await old.GetAsync("/push/vapid-public-key")).Json.Str("publicKey"));
        }
        using var api = second.Api();
        var challenge = await api.PostAsync("/auth/login", new { email = enrolled.User.Email, password = enrolled.User.Password });
        var done = await api.PostAsync("/auth/mfa", new { mfaToken = challenge.Json.Str("mfaToken"), code = TestTotp.Code(enrolled.Secret, enrolled.ConfirmedStep + 1) });
        done.AssertStatus(HttpStatusCode.OK, "the second step with a code from the sealed secret");
    }

    [Fact]
    public async Task A_server_without_the_key_or_with_another_refuses_to_start_on_sealed_secrets_and_says_which_setting()
    {
        await using var first = await ParleyServer.StartAsync(WithKey(NewKey()));
        await first.StopAsync();

        var withoutKey = await Assert.ThrowsAsync<InvalidOperationException>(() => ParleyServer.StartAsync(dataDirectory: first.DataDirectory));
        Assert.Contains("is sealed, and Parley:Auth:SecretsKey is not set", withoutKey.Message);
        var otherKey = await Assert.ThrowsAsync<InvalidOperationException>(() => ParleyServer.StartAsync(WithKey(NewKey()), dataDirectory: first.DataDirectory));
        Assert.Contains("Parley:Auth:SecretsKey does not open the store's", otherKey.Message);
    }

    [Fact]
    public async Task Secrets_stored_before_a_key_was_set_stay_readable_new_ones_are_sealed_and_the_key_cannot_change()
    {
        await using var first = await ParleyServer.StartAsync();
        var before = await TwoStepTests.EnrolAsync(first);
        var (clearSigningKey, _) = ServerDatabase.StoredKeys(first);
        Assert.DoesNotContain("sealed1:", clearSigningKey);
        await first.StopAsync();

        await using var second = await ParleyServer.StartAsync(WithKey(NewKey()), dataDirectory: first.DataDirectory);
        using var api = second.Api();
        var challenge = await api.PostAsync("/auth/login", new { email = before.User.Email, password = before.User.Password });
        (await api.PostAsync("/auth/mfa", new { mfaToken = challenge.Json.Str("mfaToken"), code = TestTotp.Code(before.Secret, before.ConfirmedStep + 1) }))
            .AssertStatus(HttpStatusCode.OK, "a TOTP secret stored in clear, read by a server with a key");

        var after = await TwoStepTests.EnrolAsync(second);
        var raw = ServerDatabase.RawFiles(second);
        Assert.True(raw.AsSpan().IndexOf(TestTotp.FromBase32(after.Secret)) < 0, "a TOTP secret enrolled with the key set is in the store in clear");
        await second.StopAsync();

        // The signing key is still in clear, yet another key is refused at start, before a sign-in
        // would meet a TOTP secret it cannot open.
        var otherKey = await Assert.ThrowsAsync<InvalidOperationException>(() => ParleyServer.StartAsync(WithKey(NewKey()), dataDirectory: first.DataDirectory));
        Assert.Contains("Parley:Auth:SecretsKey does not open the store's sealed secrets", otherKey.Message);
    }
}
