using System.Net;
using Parley.Tests.Auth;
using Parley.Tests.Cluster;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Operations;

/// <summary><c>dotnet Parley.Server.dll secrets reset</c>: the way out when the value of
/// <c>Parley:Auth:SecretsKey</c> is lost and the server no longer starts on its store.</summary>
public sealed class SecretsCommandTests
{
    [Fact]
    public async Task After_a_reset_the_server_starts_with_a_new_key_sessions_refresh_and_a_recovery_code_signs_in_two_step_accounts()
    {
        await using var first = await ParleyServer.StartAsync(SealedSecretTests.WithKey(SealedSecretTests.NewKey()));
        var enrolled = await TwoStepTests.EnrolAsync(first);
        var other = await ApiClient.CreateUserAsync(first, "Has a session");
        string jwksBefore;
        using (var http = first.CreateClient()) jwksBefore = await http.GetStringAsync("/.well-known/jwks.json");
        await first.StopAsync();
        var newKey = SealedSecretTests.NewKey();
        await Assert.ThrowsAsync<InvalidOperationException>(() => ParleyServer.StartAsync(SealedSecretTests.WithKey(newKey), dataDirectory: first.DataDirectory));

        var (exitCode, output) = await NodeProcess.RunCommandOnAsync(first, "secrets", "reset");

        Assert.True(exitCode == 0, output);
        Assert.Contains("forgotten", output);
        await using var second = await ParleyServer.StartAsync(SealedSecretTests.WithKey(newKey), dataDirectory: first.DataDirectory);
        using (var http = second.CreateClient()) Assert.NotEqual(jwksBefore, await http.GetStringAsync("/.well-known/jwks.json"));
        Assert.StartsWith("sealed1:", ServerDatabase.StoredKeys(second).SigningKey);

        // A token signed with the forgotten key is refused; the session's refresh token still works.
        using (var old = second.Api(other.AccessToken)) (await old.GetAsync("/users/me")).AssertError(HttpStatusCode.Unauthorized);
        using var api = second.Api();
        var refreshed = await api.PostAsync("/auth/refresh", new { refreshToken = other.RefreshToken });
        refreshed.AssertStatus(HttpStatusCode.OK, "refresh after the reset");
        using (var renewed = second.Api(refreshed.Json.Str("accessToken"))) (await renewed.GetAsync("/users/me")).AssertStatus(HttpStatusCode.OK, "the new token");

        // The TOTP secret sealed with the lost value opens no more: a code is wrong (not an error),
        // and a recovery code signs the account in.
        var challenge = await api.PostAsync("/auth/login", new { email = enrolled.User.Email, password = enrolled.User.Password });
        Assert.True(challenge.Json.Bool("mfaRequired"));
        var mfaToken = challenge.Json.Str("mfaToken");
        (await api.PostAsync("/auth/mfa", new { mfaToken, code = TestTotp.Code(enrolled.Secret, enrolled.ConfirmedStep + 1) })).AssertError(HttpStatusCode.Unauthorized);
        var signedIn = await api.PostAsync("/auth/mfa", new { mfaToken, code = enrolled.RecoveryCodes[0] });
        signedIn.AssertStatus(HttpStatusCode.OK, "a recovery code after the reset");
        Assert.Contains(second.Logs, l => l.Contains("cannot be opened") && l.Contains(enrolled.User.Id));

        // With another recovery code it turns two-step off and enrols anew, sealed with the new key.
        using var user = second.Api(signedIn.Json.Str("accessToken"));
        (await user.SendAsync(HttpMethod.Delete, "/users/me/mfa", new { code = enrolled.RecoveryCodes[1] })).AssertStatus(HttpStatusCode.NoContent, "turn off");
        var secret = (await user.PostAsync("/users/me/mfa", null)).Json.Str("secret")!;
        (await user.PostAsync("/users/me/mfa/confirm", new { code = TestTotp.Code(secret, TestTotp.CurrentStep()) })).AssertStatus(HttpStatusCode.OK, "enrol again");
    }

    [Fact]
    public async Task A_command_other_than_seal_or_reset_changes_nothing_and_shows_the_usage()
    {
        var (bareCode, bare) = await NodeProcess.RunCommandAsync(null, "secrets");
        var (otherCode, other) = await NodeProcess.RunCommandAsync(null, "secrets", "rotate");
        var (extraCode, extra) = await NodeProcess.RunCommandAsync(null, "secrets", "reset", "now");
        var (sealExtraCode, sealExtra) = await NodeProcess.RunCommandAsync(null, "secrets", "seal", "everything");

        Assert.Equal([2, 2, 2, 2], new[] { bareCode, otherCode, extraCode, sealExtraCode });
        Assert.All(new[] { bare, other, extra, sealExtra }, o => Assert.Contains("Usage: dotnet Parley.Server.dll secrets seal|reset", o));
    }
}
