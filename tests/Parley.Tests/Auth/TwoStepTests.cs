using System.Net;
using System.Text;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Auth;

/// <summary>Two-step verification with TOTP (RFC 6238): enrolment from the profile, confirmation
/// by a first code with ten single-use recovery codes, sign-in answering a challenge until a code
/// completes it, no code accepted twice, codes limited per account, and turning it off with a code.</summary>
public sealed class TwoStepTests
{
    internal sealed record Enrolled(TestUser User, string Secret, List<string> RecoveryCodes, long ConfirmedStep);

    internal static async Task<Enrolled> EnrolAsync(ParleyServer server)
    {
        var user = await ApiClient.CreateUserAsync(server, "Two Step");
        var enrol = await user.Api.PostAsync("/users/me/mfa", null);
        enrol.AssertStatus(HttpStatusCode.OK, "enrol");
        var secret = enrol.Json.Str("secret")!;
        var uri = enrol.Json.Str("otpauthUri")!;
        Assert.StartsWith("otpauth://totp/Parley:", uri);
        Assert.Contains("secret=" + secret, uri);
        Assert.Contains(Uri.EscapeDataString(user.Email), uri);
        Assert.Equal(20, TestTotp.FromBase32(secret).Length);
        var step = TestTotp.CurrentStep();
        var confirm = await user.Api.PostAsync("/users/me/mfa/confirm", new { code = TestTotp.Code(secret, step) });
        confirm.AssertStatus(HttpStatusCode.OK, "confirm");
        Assert.True(confirm.Json.Bool("enabled"));
        var codes = confirm.Json.Strings("recoveryCodes");
        Assert.Equal(10, codes.Distinct().Count());
        return new Enrolled(user, secret, codes, step);
    }

    private static Task<ApiClient.Response> Login(ApiClient api, TestUser user, string? password = null) =>
        api.PostAsync("/auth/login", new { email = user.Email, password = password ?? user.Password });

    [Fact]
    public void The_server_computes_the_RFC_6238_reference_codes()
    {
        // RFC 6238 appendix B, SHA-1 key "12345678901234567890", six low digits of the eight-digit values.
        var key = Encoding.ASCII.GetBytes("12345678901234567890");
        Assert.Equal("287082", Parley.Server.Auth.Totp.Code(key, 59 / 30));
        Assert.Equal("081804", Parley.Server.Auth.Totp.Code(key, 1111111109 / 30));
        Assert.Equal("050471", Parley.Server.Auth.Totp.Code(key, 1111111111 / 30));
        Assert.Equal("005924", Parley.Server.Auth.Totp.Code(key, 1234567890 / 30));
        Assert.Equal("279037", Parley.Server.Auth.Totp.Code(key, 2000000000 / 30));
    }

    [Fact]
    public async Task Sign_in_asks_for_a_code_and_a_code_completes_it_once()
    {
        await using var server = await ParleyServer.StartAsync();
        var (user, secret, _, confirmedStep) = await EnrolAsync(server);
        using var api = server.Api();

        var challenge = await Login(api, user);
        challenge.AssertStatus(HttpStatusCode.OK, "login");
        Assert.True(challenge.Json.Bool("mfaRequired"));
        Assert.False(challenge.Json.TryGetProperty("accessToken", out _));
        var mfaToken = challenge.Json.Str("mfaToken")!;
        // The challenge token is no access token.
        using (var sneaky = server.Api(mfaToken)) (await sneaky.GetAsync("/users/me")).AssertError(HttpStatusCode.Unauthorized);

        var wrong = await api.PostAsync("/auth/mfa", new { mfaToken, code = TestTotp.Code(secret, confirmedStep + 5) });
        // The code of the step used to confirm was spent there; the next one (within the allowed drift) works.
        var spent = await api.PostAsync("/auth/mfa", new { mfaToken, code = TestTotp.Code(secret, confirmedStep) });
        var code = TestTotp.Code(secret, confirmedStep + 1);
        var done = await api.PostAsync("/auth/mfa", new { mfaToken, code });
        var replay = await api.PostAsync("/auth/mfa", new { mfaToken = (await Login(api, user)).Json.Str("mfaToken"), code });

        wrong.AssertError(HttpStatusCode.Unauthorized);
        spent.AssertError(HttpStatusCode.Unauthorized);
        done.AssertStatus(HttpStatusCode.OK, "the second step");
        replay.AssertError(HttpStatusCode.Unauthorized);
        using var signedIn = server.Api(done.Json.Str("accessToken"));
        (await signedIn.GetAsync("/users/me")).AssertStatus(HttpStatusCode.OK, "signed in");
        Assert.False(string.IsNullOrEmpty(done.Json.Str("refreshToken")));
    }

    [Fact]
    public async Task Each_recovery_code_works_once()
    {
        await using var server = await ParleyServer.StartAsync();
        var enrolled = await EnrolAsync(server);
        using var api = server.Api();
        var recovery = enrolled.RecoveryCodes[3];

        var first = await api.PostAsync("/auth/mfa", new { mfaToken = (await Login(api, enrolled.User)).Json.Str("mfaToken"), code = recovery.ToUpperInvariant() });
        var again = await api.PostAsync("/auth/mfa", new { mfaToken = (await Login(api, enrolled.User)).Json.Str("mfaToken"), code = recovery });
        var another = await api.PostAsync("/auth/mfa", new { mfaToken = (await Login(api, enrolled.User)).Json.Str("mfaToken"), code = enrolled.RecoveryCodes[4] });

        first.AssertStatus(HttpStatusCode.OK, "a recovery code");
        again.AssertError(HttpStatusCode.Unauthorized);
        another.AssertStatus(HttpStatusCode.OK, "another recovery code");
    }

    [Fact]
    public async Task Codes_are_limited_per_account()
    {
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Auth:AttemptsPerAccountPer15Minutes"] = "3" });
        var enrolled = await EnrolAsync(server);
        using var api = server.Api();
        var mfaToken = (await Login(api, enrolled.User)).Json.Str("mfaToken");

        for (var i = 0; i < 3; i++)
        {
            (await api.PostAsync("/auth/mfa", new { mfaToken, code = "000000" })).AssertError(HttpStatusCode.Unauthorized);
        }
        var refused = await api.PostAsync("/auth/mfa", new { mfaToken, code = enrolled.RecoveryCodes[0] });

        refused.AssertError(HttpStatusCode.TooManyRequests);
        Assert.NotNull(refused.Raw.Headers.RetryAfter);
    }

    [Fact]
    public async Task Turning_it_off_needs_a_code_and_then_sign_in_needs_none()
    {
        await using var server = await ParleyServer.StartAsync();
        var enrolled = await EnrolAsync(server);
        using var api = server.Api();

        var noCode = await enrolled.User.Api.SendAsync(HttpMethod.Delete, "/users/me/mfa", new { });
        var wrongCode = await enrolled.User.Api.SendAsync(HttpMethod.Delete, "/users/me/mfa", new { code = "123456" });
        Assert.True((await Login(api, enrolled.User)).Json.Bool("mfaRequired"));
        var off = await enrolled.User.Api.SendAsync(HttpMethod.Delete, "/users/me/mfa", new { code = enrolled.RecoveryCodes[0] });

        noCode.AssertError(HttpStatusCode.BadRequest);
        wrongCode.AssertError(HttpStatusCode.BadRequest);
        off.AssertStatus(HttpStatusCode.NoContent, "turn off");
        var login = await Login(api, enrolled.User);
        login.AssertStatus(HttpStatusCode.OK, "login");
        Assert.False(string.IsNullOrEmpty(login.Json.Str("accessToken")));
        Assert.False((await enrolled.User.Api.GetAsync("/users/me/mfa")).Json.Bool("enabled"));
    }

    [Fact]
    public async Task A_wrong_first_code_does_not_turn_it_on_and_enrolling_twice_is_refused_once_on()
    {
        await using var server = await ParleyServer.StartAsync();
        var user = await ApiClient.CreateUserAsync(server);
        var secret = (await user.Api.PostAsync("/users/me/mfa", null)).Json.Str("secret")!;

        var wrong = await user.Api.PostAsync("/users/me/mfa/confirm", new { code = TestTotp.Code(secret, TestTotp.CurrentStep() + 7) });

        wrong.AssertError(HttpStatusCode.BadRequest);
        Assert.False((await user.Api.GetAsync("/users/me/mfa")).Json.Bool("enabled"));
        using var api = server.Api();
        Assert.False(string.IsNullOrEmpty((await Login(api, user)).Json.Str("accessToken")));
        (await user.Api.PostAsync("/users/me/mfa/confirm", new { code = TestTotp.Code(secret, TestTotp.CurrentStep()) })).AssertStatus(HttpStatusCode.OK, "confirm");
        (await user.Api.PostAsync("/users/me/mfa", null)).AssertError(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Phone_sign_in_asks_for_the_code_too()
    {
        await using var server = await ParleyServer.StartAsync();
        using var api = server.Api();
        var phone = Accounts.NewPhone();
        (await api.PostAsync("/auth/sign-up", new { phoneNumber = phone, password = Accounts.Password, name = "Phone Two Step" })).AssertStatus(HttpStatusCode.Created, "sign-up");
        (await api.PostAsync("/auth/account-confirmation", new { phoneNumber = phone, code = LoggedCodes.Required(server, "confirm", phone) }))
            .AssertStatus(HttpStatusCode.OK, "confirm");
        using var user = server.Api((await api.PostAsync("/auth/sign-in", new { phoneNumber = phone, password = Accounts.Password })).Json.Str("accessToken"));
        var secret = (await user.PostAsync("/users/me/mfa", null)).Json.Str("secret")!;
        var step = TestTotp.CurrentStep();
        (await user.PostAsync("/users/me/mfa/confirm", new { code = TestTotp.Code(secret, step) })).AssertStatus(HttpStatusCode.OK, "confirm mfa");

        var challenge = await api.PostAsync("/auth/sign-in", new { phoneNumber = phone, password = Accounts.Password });
        var done = await api.PostAsync("/auth/mfa", new { mfaToken = challenge.Json.Str("mfaToken"), code = TestTotp.Code(secret, step + 1) });

        Assert.True(challenge.Json.Bool("mfaRequired"));
        done.AssertStatus(HttpStatusCode.OK, "second step");
    }
}
