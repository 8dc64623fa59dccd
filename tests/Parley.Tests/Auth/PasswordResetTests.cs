using System.Net;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Auth;

/// <summary>Forgot-password always answers 202 (no enumeration) and sends a code to accounts that
/// exist; reset-password with that code sets the new password and ends every session.</summary>
public sealed class PasswordResetTests
{
    private const string NewPassword = "a-brand-new-passphrase";

    [Fact]
    public async Task Forgot_password_answers_202_the_same_for_known_and_unknown_accounts()
    {
        await using var server = await ParleyServer.StartAsync();
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(server, email);
        using var api = server.Api();

        var known = await api.PostAsync("/auth/forgot-password", new { email });
        var unknown = await api.PostAsync("/auth/forgot-password", new { email = Accounts.NewEmail() });
        var unknownPhone = await api.PostAsync("/auth/forgot-password", new { phoneNumber = Accounts.NewPhone() });

        Assert.Equal(HttpStatusCode.Accepted, known.Status);
        Assert.Equal(HttpStatusCode.Accepted, unknown.Status);
        Assert.Equal(HttpStatusCode.Accepted, unknownPhone.Status);
        Assert.Equal(known.Json.GetRawText(), unknown.Json.GetRawText());
        Assert.Equal(known.Json.GetRawText(), unknownPhone.Json.GetRawText());
        Assert.NotNull(LoggedCodes.Latest(server, "reset", email));
    }

    [Fact]
    public async Task Forgot_password_sends_no_code_for_an_unknown_account()
    {
        await using var server = await ParleyServer.StartAsync();
        using var api = server.Api();
        var email = Accounts.NewEmail();

        Assert.Equal(HttpStatusCode.Accepted, (await api.PostAsync("/auth/forgot-password", new { email })).Status);

        Assert.Null(LoggedCodes.Latest(server, "reset", email));
    }

    [Fact]
    public async Task Reset_password_with_the_logged_code_sets_the_new_password_and_revokes_every_refresh_token()
    {
        await using var server = await ParleyServer.StartAsync();
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(server, email);
        var phoneSession = await Accounts.LoginAsync(server, email);
        var laptopSession = await Accounts.LoginAsync(server, email);
        using var api = server.Api();

        Assert.Equal(HttpStatusCode.Accepted, (await api.PostAsync("/auth/forgot-password", new { email = email.ToUpperInvariant() })).Status);
        var code = LoggedCodes.Required(server, "reset", email);
        var reset = await api.PostAsync("/auth/reset-password", new { email, code, newPassword = NewPassword });

        Assert.Equal(HttpStatusCode.NoContent, reset.Status);
        (await api.PostAsync("/auth/refresh", new { refreshToken = phoneSession.RefreshToken })).AssertError(HttpStatusCode.Unauthorized);
        (await api.PostAsync("/auth/refresh", new { refreshToken = laptopSession.RefreshToken })).AssertError(HttpStatusCode.Unauthorized);
        (await api.PostAsync("/auth/login", new { email, password = Accounts.Password })).AssertError(HttpStatusCode.Unauthorized);
        var fresh = await Accounts.LoginAsync(server, email, NewPassword);
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsync("/auth/refresh", new { refreshToken = fresh.RefreshToken })).Status);
    }

    [Fact]
    public async Task Reset_password_also_stops_the_access_tokens_issued_before_it()
    {
        await using var server = await ParleyServer.StartAsync();
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(server, email);
        var stolen = await Accounts.LoginAsync(server, email);
        using var api = server.Api();
        using var thief = server.Api(stolen.AccessToken);
        Assert.Equal(HttpStatusCode.OK, (await thief.GetAsync("/users/me")).Status);

        await api.PostAsync("/auth/forgot-password", new { email });
        var code = LoggedCodes.Required(server, "reset", email);
        Assert.Equal(HttpStatusCode.NoContent, (await api.PostAsync("/auth/reset-password", new { email, code, newPassword = NewPassword })).Status);

        (await thief.GetAsync("/users/me")).AssertError(HttpStatusCode.Unauthorized);
        // The server compares issue times in milliseconds: let the clock move past the reset's
        // millisecond so the new login is unambiguously later (this waits, it asserts no timing).
        await Task.Delay(10);
        var fresh = await Accounts.LoginAsync(server, email, NewPassword);
        using var owner = server.Api(fresh.AccessToken);
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync("/users/me")).Status);
    }

    [Fact]
    public async Task Access_tokens_stopped_by_a_reset_stay_stopped_after_a_restart()
    {
        await using var first = await ParleyServer.StartAsync();
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(first, email);
        var stolen = await Accounts.LoginAsync(first, email);
        using (var api = first.Api())
        {
            await api.PostAsync("/auth/forgot-password", new { email });
            var code = LoggedCodes.Required(first, "reset", email);
            Assert.Equal(HttpStatusCode.NoContent, (await api.PostAsync("/auth/reset-password", new { email, code, newPassword = NewPassword })).Status);
        }
        using (var thief = first.Api(stolen.AccessToken))
        {
            (await thief.GetAsync("/users/me")).AssertError(HttpStatusCode.Unauthorized);
        }
        await first.StopAsync();

        await using var second = await ParleyServer.StartAsync(dataDirectory: first.DataDirectory);
        using var again = second.Api(stolen.AccessToken);

        (await again.GetAsync("/users/me")).AssertError(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Reset_password_works_for_a_phone_account()
    {
        await using var server = await ParleyServer.StartAsync();
        using var api = server.Api();
        var phone = Accounts.NewPhone();
        Assert.Equal(HttpStatusCode.Created, (await api.PostAsync("/auth/sign-up", new { phoneNumber = phone, password = Accounts.Password, name = "Phone Person" })).Status);
        var confirmCode = LoggedCodes.Required(server, "confirm", phone);
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsync("/auth/account-confirmation", new { phoneNumber = phone, code = confirmCode })).Status);

        Assert.Equal(HttpStatusCode.Accepted, (await api.PostAsync("/auth/forgot-password", new { phoneNumber = phone })).Status);
        var code = LoggedCodes.Required(server, "reset", phone);
        Assert.Equal(HttpStatusCode.NoContent, (await api.PostAsync("/auth/reset-password", new { phoneNumber = phone, code, newPassword = NewPassword })).Status);

        (await api.PostAsync("/auth/sign-in", new { phoneNumber = phone, password = Accounts.Password })).AssertError(HttpStatusCode.Unauthorized);
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsync("/auth/sign-in", new { phoneNumber = phone, password = NewPassword })).Status);
    }

    [Fact]
    public async Task A_reset_code_works_only_once()
    {
        await using var server = await ParleyServer.StartAsync();
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(server, email);
        using var api = server.Api();
        await api.PostAsync("/auth/forgot-password", new { email });
        var code = LoggedCodes.Required(server, "reset", email);
        Assert.Equal(HttpStatusCode.NoContent, (await api.PostAsync("/auth/reset-password", new { email, code, newPassword = NewPassword })).Status);

        var replay = await api.PostAsync("/auth/reset-password", new { email, code, newPassword = "an-attackers-passphrase" });

        replay.AssertError(HttpStatusCode.BadRequest);
        await Accounts.LoginAsync(server, email, NewPassword);
    }

    [Fact]
    public async Task A_phone_confirmation_code_cannot_reset_the_password()
    {
        await using var server = await ParleyServer.StartAsync();
        using var api = server.Api();
        var phone = Accounts.NewPhone();
        Assert.Equal(HttpStatusCode.Created, (await api.PostAsync("/auth/sign-up", new { phoneNumber = phone, password = Accounts.Password, name = "Phone Person" })).Status);
        var confirmCode = LoggedCodes.Required(server, "confirm", phone);

        var reset = await api.PostAsync("/auth/reset-password", new { phoneNumber = phone, code = confirmCode, newPassword = NewPassword });

        reset.AssertError(HttpStatusCode.BadRequest);
        // The code is still good for what it was sent for, and the password did not change.
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsync("/auth/account-confirmation", new { phoneNumber = phone, code = confirmCode })).Status);
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsync("/auth/sign-in", new { phoneNumber = phone, password = Accounts.Password })).Status);
    }

    [Fact]
    public async Task A_wrong_reset_code_changes_nothing()
    {
        await using var server = await ParleyServer.StartAsync();
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(server, email);
        var session = await Accounts.LoginAsync(server, email);
        using var api = server.Api();
        await api.PostAsync("/auth/forgot-password", new { email });
        var code = LoggedCodes.Required(server, "reset", email);

        var wrong = await api.PostAsync("/auth/reset-password", new { email, code = LoggedCodes.WrongCode(code), newPassword = NewPassword });

        wrong.AssertError(HttpStatusCode.BadRequest);
        await Accounts.LoginAsync(server, email);
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsync("/auth/refresh", new { refreshToken = session.RefreshToken })).Status);
    }

    [Fact]
    public async Task Wrong_reset_codes_are_limited()
    {
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Auth:CodeAttempts"] = "3" });
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(server, email);
        using var api = server.Api();
        await api.PostAsync("/auth/forgot-password", new { email });
        var code = LoggedCodes.Required(server, "reset", email);

        for (var i = 0; i < 3; i++)
        {
            (await api.PostAsync("/auth/reset-password", new { email, code = LoggedCodes.WrongCode(code), newPassword = NewPassword })).AssertError(HttpStatusCode.BadRequest);
        }
        var right = await api.PostAsync("/auth/reset-password", new { email, code, newPassword = NewPassword });

        right.AssertError(HttpStatusCode.TooManyRequests);
        await Accounts.LoginAsync(server, email);
    }

    [Fact]
    public async Task A_new_forgot_password_request_replaces_the_previous_code()
    {
        await using var server = await ParleyServer.StartAsync();
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(server, email);
        using var api = server.Api();
        await api.PostAsync("/auth/forgot-password", new { email });
        var first = LoggedCodes.Required(server, "reset", email);
        string second;
        do
        {
            // Codes are random: ask again until the new one differs (it almost always does at once).
            await api.PostAsync("/auth/forgot-password", new { email });
            second = LoggedCodes.Required(server, "reset", email);
        }
        while (second == first && LoggedCodes.Count(server, "reset", email) < 5);
        Assert.NotEqual(first, second);

        (await api.PostAsync("/auth/reset-password", new { email, code = first, newPassword = NewPassword })).AssertError(HttpStatusCode.BadRequest);
        Assert.Equal(HttpStatusCode.NoContent, (await api.PostAsync("/auth/reset-password", new { email, code = second, newPassword = NewPassword })).Status);
    }

    [Theory]
    [InlineData("{\"code\":\"123456\",\"newPassword\":\"a-brand-new-passphrase\"}", "email")]
    [InlineData("{\"email\":\"someone@example.com\",\"newPassword\":\"a-brand-new-passphrase\"}", "code")]
    [InlineData("{\"email\":\"someone@example.com\",\"code\":\"123456\"}", "newPassword")]
    [InlineData("{\"email\":\"someone@example.com\",\"code\":\"123456\",\"newPassword\":\"short\"}", "newPassword")]
    [InlineData("{\"email\":\"someone@example.com\",\"code\":\"123456\",\"newPassword\":\"password123\"}", "newPassword")]
    public async Task Reset_password_refuses_a_bad_field_with_400(string body, string field)
    {
        await using var server = await ParleyServer.StartAsync();
        using var api = server.Api();

        var response = await api.PostAsync("/auth/reset-password", body);

        Assert.Contains(field, response.AssertError(HttpStatusCode.BadRequest));
    }

    [Fact]
    public async Task Forgot_password_without_an_email_or_phone_is_a_bad_request()
    {
        await using var server = await ParleyServer.StartAsync();
        using var api = server.Api();

        var response = await api.PostAsync("/auth/forgot-password", new { });

        response.AssertError(HttpStatusCode.BadRequest);
    }
}
