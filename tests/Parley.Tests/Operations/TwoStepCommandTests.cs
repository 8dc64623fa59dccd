using System.Net;
using Parley.Tests.Cluster;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Operations;

/// <summary><c>dotnet Parley.Server.dll two-step off &lt;address&gt;</c>: the way back in for a user who
/// lost their authenticator and their recovery codes, run by an operator beside the running server.</summary>
public sealed class TwoStepCommandTests
{
    [Fact]
    public async Task Two_step_off_lets_the_user_sign_in_with_the_password_alone()
    {
        await using var server = await ParleyServer.StartAsync();
        var user = await ApiClient.CreateUserAsync(server, "Lost Phone");
        var secret = (await user.Api.PostAsync("/users/me/mfa", null)).Json.Str("secret")!;
        (await user.Api.PostAsync("/users/me/mfa/confirm", new { code = TestTotp.Code(secret, TestTotp.CurrentStep()) }))
            .AssertStatus(HttpStatusCode.OK, "confirm");
        using var api = server.Api();
        var challenge = await api.PostAsync("/auth/login", new { email = user.Email, password = user.Password });
        Assert.True(challenge.Json.Bool("mfaRequired"));

        var (exitCode, output) = await NodeProcess.RunCommandOnAsync(server, "two-step", "off", user.Email.ToUpperInvariant());

        Assert.True(exitCode == 0, output);
        Assert.Contains("off for " + user.Id, output);
        var login = await api.PostAsync("/auth/login", new { email = user.Email, password = user.Password });
        login.AssertStatus(HttpStatusCode.OK, "login");
        Assert.False(login.Json.TryGetProperty("mfaRequired", out var required) && required.GetBoolean(), login.Json.ToString());
        Assert.NotNull(login.Json.Str("accessToken"));
    }

    [Fact]
    public async Task An_unknown_or_malformed_address_changes_nothing_and_says_why()
    {
        await using var server = await ParleyServer.StartAsync();

        var (unknownCode, unknown) = await NodeProcess.RunCommandOnAsync(server, "two-step", "off", Accounts.NewEmail());
        var (malformedCode, malformed) = await NodeProcess.RunCommandAsync(null, "two-step", "off", "not an address");
        var (usageCode, usage) = await NodeProcess.RunCommandAsync(null, "two-step", "on", "someone@example.com");

        Assert.Equal(1, unknownCode);
        Assert.Contains("No account has the email", unknown);
        Assert.Equal(2, malformedCode);
        Assert.Contains("email", malformed);
        Assert.Equal(2, usageCode);
        Assert.Contains("Usage: dotnet Parley.Server.dll two-step off", usage);
        Assert.DoesNotContain("   at ", unknown + malformed + usage);
    }
}
