using System.Net;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Auth;

/// <summary>A phone number is never locked out for good: a new confirmation code can always be
/// asked for (the same answer whether or not the number has an account), signing up again
/// resends one, and a password reset by a code sent to the phone confirms the number.</summary>
public sealed class PhoneRecoveryTests
{
    private static async Task<string> SignUpAsync(ParleyServer server, string phone, string password = Accounts.Password)
    {
        using var api = server.Api();
        var response = await api.PostAsync("/auth/sign-up", new { phoneNumber = phone, password, name = "Phone Person" });
        response.AssertStatus(HttpStatusCode.Created, "sign-up");
        return response.Json.Str("userId")!;
    }

    private static Task<ApiClient.Response> Confirm(ApiClient api, string phone, string code) =>
        api.PostAsync("/auth/account-confirmation", new { phoneNumber = phone, code });

    private static Task<ApiClient.Response> SignIn(ApiClient api, string phone, string password = Accounts.Password) =>
        api.PostAsync("/auth/sign-in", new { phoneNumber = phone, password });

    [Fact]
    public async Task After_too_many_wrong_codes_a_resent_code_confirms_the_number()
    {
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Auth:CodeAttempts"] = "2" });
        var phone = Accounts.NewPhone();
        await SignUpAsync(server, phone);
        using var api = server.Api();
        var first = LoggedCodes.Required(server, "confirm", phone);
        for (var i = 0; i < 2; i++) (await Confirm(api, phone, LoggedCodes.WrongCode(first))).AssertError(HttpStatusCode.BadRequest);
        Assert.Contains("resend-code", (await Confirm(api, phone, first)).AssertError(HttpStatusCode.TooManyRequests));

        var resend = await api.PostAsync("/auth/resend-code", new { phoneNumber = phone });

        resend.AssertStatus(HttpStatusCode.Accepted, "resend-code");
        Assert.Equal(2, LoggedCodes.Count(server, "confirm", phone));
        var second = LoggedCodes.Required(server, "confirm", phone);
        (await Confirm(api, phone, second)).AssertStatus(HttpStatusCode.OK, "confirm with the resent code");
        (await SignIn(api, phone)).AssertStatus(HttpStatusCode.OK, "sign-in once confirmed");
    }

    [Fact]
    public async Task Resend_answers_the_same_for_unknown_unconfirmed_and_confirmed_numbers_and_sends_only_to_the_unconfirmed()
    {
        await using var server = await ParleyServer.StartAsync();
        using var api = server.Api();
        var unconfirmed = Accounts.NewPhone();
        await SignUpAsync(server, unconfirmed);
        var confirmed = Accounts.NewPhone();
        await SignUpAsync(server, confirmed);
        (await Confirm(api, confirmed, LoggedCodes.Required(server, "confirm", confirmed))).AssertStatus(HttpStatusCode.OK, "confirm");
        var unknown = Accounts.NewPhone();

        var answers = new List<string>();
        foreach (var phone in new[] { unknown, unconfirmed, confirmed })
        {
            var response = await api.PostAsync("/auth/resend-code", new { phoneNumber = phone });
            response.AssertStatus(HttpStatusCode.Accepted, $"resend-code for {phone}");
            answers.Add(response.Json.GetRawText());
        }

        Assert.Single(answers.Distinct());
        Assert.Equal(0, LoggedCodes.Count(server, "confirm", unknown));
        Assert.Equal(2, LoggedCodes.Count(server, "confirm", unconfirmed));
        Assert.Equal(1, LoggedCodes.Count(server, "confirm", confirmed));
    }

    [Fact]
    public async Task Resend_is_limited_per_number_alike_for_numbers_with_and_without_an_account()
    {
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Auth:AttemptsPerAccountPer15Minutes"] = "3" });
        using var api = server.Api();
        var registered = Accounts.NewPhone();
        await SignUpAsync(server, registered);
        var unknown = Accounts.NewPhone();

        foreach (var phone in new[] { registered, unknown })
        {
            for (var i = 0; i < 3; i++)
            {
                (await api.PostAsync("/auth/resend-code", new { phoneNumber = phone })).AssertStatus(HttpStatusCode.Accepted, $"resend {i + 1} for {phone}");
            }
            var refused = await api.PostAsync("/auth/resend-code", new { phoneNumber = phone });
            refused.AssertError(HttpStatusCode.TooManyRequests);
            Assert.NotNull(refused.Raw.Headers.RetryAfter);
        }
        Assert.Equal(4, LoggedCodes.Count(server, "confirm", registered));
        // Another number is not held back by those.
        (await api.PostAsync("/auth/resend-code", new { phoneNumber = Accounts.NewPhone() })).AssertStatus(HttpStatusCode.Accepted, "another number");
    }

    [Fact]
    public async Task Signing_up_again_with_an_unconfirmed_number_sends_a_new_code_and_takes_the_new_password()
    {
        await using var server = await ParleyServer.StartAsync();
        var phone = Accounts.NewPhone();
        var userId = await SignUpAsync(server, phone, "the-first-passphrase");
        using var api = server.Api();

        var again = await api.PostAsync("/auth/sign-up", new { phoneNumber = phone, password = "the-second-passphrase", name = "Second Try" });

        again.AssertStatus(HttpStatusCode.Created, "sign-up again");
        Assert.Equal(userId, again.Json.Str("userId"));
        Assert.True(again.Json.Bool("confirmationRequired"));
        Assert.Equal(2, LoggedCodes.Count(server, "confirm", phone));
        (await Confirm(api, phone, LoggedCodes.Required(server, "confirm", phone))).AssertStatus(HttpStatusCode.OK, "confirm");
        (await SignIn(api, phone, "the-first-passphrase")).AssertError(HttpStatusCode.Unauthorized);
        var signIn = await SignIn(api, phone, "the-second-passphrase");
        signIn.AssertStatus(HttpStatusCode.OK, "sign-in with the second password");
        Assert.Equal("Second Try", signIn.Json.GetProperty("user").Str("name"));
        // Once confirmed, the number is taken.
        (await api.PostAsync("/auth/sign-up", new { phoneNumber = phone, password = "a-third-passphrase", name = "Third" })).AssertError(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task A_password_reset_by_phone_confirms_the_number()
    {
        await using var server = await ParleyServer.StartAsync();
        var phone = Accounts.NewPhone();
        await SignUpAsync(server, phone);
        using var api = server.Api();
        (await SignIn(api, phone)).AssertError(HttpStatusCode.Forbidden);

        (await api.PostAsync("/auth/forgot-password", new { phoneNumber = phone })).AssertStatus(HttpStatusCode.Accepted, "forgot-password");
        var code = LoggedCodes.Required(server, "reset", phone);
        var reset = await api.PostAsync("/auth/reset-password", new { phoneNumber = phone, code, newPassword = "a-brand-new-passphrase" });

        reset.AssertStatus(HttpStatusCode.NoContent, "reset-password");
        (await SignIn(api, phone, "a-brand-new-passphrase")).AssertStatus(HttpStatusCode.OK, "sign-in after the reset");
    }

    [Fact]
    public async Task A_confirmed_number_answers_confirmation_like_a_spent_code()
    {
        await using var server = await ParleyServer.StartAsync();
        var phone = Accounts.NewPhone();
        await SignUpAsync(server, phone);
        using var api = server.Api();
        var code = LoggedCodes.Required(server, "confirm", phone);
        (await Confirm(api, phone, code)).AssertStatus(HttpStatusCode.OK, "first confirmation");

        var again = await Confirm(api, phone, code);
        var anyCode = await Confirm(api, phone, LoggedCodes.WrongCode(code));
        var unknown = await Confirm(api, Accounts.NewPhone(), code);

        Assert.Equal(unknown.AssertError(HttpStatusCode.BadRequest), again.AssertError(HttpStatusCode.BadRequest));
        Assert.Equal(unknown.Error, anyCode.AssertError(HttpStatusCode.BadRequest));
    }
}
