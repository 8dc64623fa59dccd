using System.Net;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Auth;

/// <summary>Phone sign-up: a one-time code goes to the phone (the default sender writes it to the
/// server log), and the account cannot sign in until it is confirmed with that code.</summary>
public sealed class PhoneAccountTests
{
    private static async Task<(string UserId, string Phone)> SignUpAsync(ParleyServer server, string? phone = null)
    {
        phone ??= Accounts.NewPhone();
        using var api = server.Api();
        var response = await api.PostAsync("/auth/sign-up", new { phoneNumber = phone, password = Accounts.Password, name = "Phone Person" });
        Assert.True(response.Status == HttpStatusCode.Created, $"sign-up: {response.Status} {response.Json}");
        return (response.Json.GetProperty("userId").GetString()!, phone);
    }

    [Fact]
    public async Task Sign_up_answers_201_requiring_confirmation_and_sends_a_code()
    {
        await using var server = await ParleyServer.StartAsync();
        using var api = server.Api();
        var phone = Accounts.NewPhone();

        var response = await api.PostAsync("/auth/sign-up", new { phoneNumber = phone, password = Accounts.Password, name = "Phone Person" });

        Assert.Equal(HttpStatusCode.Created, response.Status);
        Assert.True(Guid.TryParse(response.Json.GetProperty("userId").GetString(), out _));
        Assert.True(response.Json.GetProperty("confirmationRequired").GetBoolean());
        Assert.Matches("^[0-9]{6}$", LoggedCodes.Required(server, "confirm", phone));
    }

    [Fact]
    public async Task Sign_in_is_403_until_the_account_is_confirmed_with_the_right_code()
    {
        await using var server = await ParleyServer.StartAsync();
        var (userId, phone) = await SignUpAsync(server);
        using var api = server.Api();

        var early = await api.PostAsync("/auth/sign-in", new { phoneNumber = phone, password = Accounts.Password });
        early.AssertError(HttpStatusCode.Forbidden);

        var code = LoggedCodes.Required(server, "confirm", phone);
        var confirm = await api.PostAsync("/auth/account-confirmation", new { phoneNumber = phone, code });
        Assert.Equal(HttpStatusCode.OK, confirm.Status);

        var signIn = await api.PostAsync("/auth/sign-in", new { phoneNumber = phone, password = Accounts.Password });
        Assert.Equal(HttpStatusCode.OK, signIn.Status);
        var session = Session.From(signIn);
        Assert.Equal(userId, signIn.Json.GetProperty("user").GetProperty("id").GetString());
        Assert.Equal(phone, signIn.Json.GetProperty("user").GetProperty("phoneNumber").GetString());
        using var authed = server.Api(session.AccessToken);
        var me = await authed.GetAsync("/users/me");
        Assert.Equal(HttpStatusCode.OK, me.Status);
        Assert.Equal(phone, me.Json.GetProperty("phoneNumber").GetString());
        Assert.Equal(phone, TokenForge.Decode(session.IdToken).Payload.GetProperty("phone_number").GetString());
    }

    [Fact]
    public async Task A_wrong_code_does_not_confirm_the_account()
    {
        await using var server = await ParleyServer.StartAsync();
        var (_, phone) = await SignUpAsync(server);
        using var api = server.Api();
        var code = LoggedCodes.Required(server, "confirm", phone);

        var wrong = await api.PostAsync("/auth/account-confirmation", new { phoneNumber = phone, code = LoggedCodes.WrongCode(code) });

        wrong.AssertError(HttpStatusCode.BadRequest);
        (await api.PostAsync("/auth/sign-in", new { phoneNumber = phone, password = Accounts.Password })).AssertError(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task The_right_code_still_works_after_a_few_wrong_ones()
    {
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Auth:CodeAttempts"] = "3" });
        var (_, phone) = await SignUpAsync(server);
        using var api = server.Api();
        var code = LoggedCodes.Required(server, "confirm", phone);

        for (var i = 0; i < 2; i++)
        {
            (await api.PostAsync("/auth/account-confirmation", new { phoneNumber = phone, code = LoggedCodes.WrongCode(code) })).AssertError(HttpStatusCode.BadRequest);
        }
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsync("/auth/account-confirmation", new { phoneNumber = phone, code })).Status);
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsync("/auth/sign-in", new { phoneNumber = phone, password = Accounts.Password })).Status);
    }

    [Fact]
    public async Task Wrong_codes_are_counted_and_after_the_limit_even_the_right_code_is_refused()
    {
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Auth:CodeAttempts"] = "3" });
        var (_, phone) = await SignUpAsync(server);
        using var api = server.Api();
        var code = LoggedCodes.Required(server, "confirm", phone);

        for (var i = 0; i < 3; i++)
        {
            (await api.PostAsync("/auth/account-confirmation", new { phoneNumber = phone, code = LoggedCodes.WrongCode(code) })).AssertError(HttpStatusCode.BadRequest);
        }
        var right = await api.PostAsync("/auth/account-confirmation", new { phoneNumber = phone, code });

        right.AssertError(HttpStatusCode.TooManyRequests);
        Assert.NotNull(right.Raw.Headers.RetryAfter);
        (await api.PostAsync("/auth/sign-in", new { phoneNumber = phone, password = Accounts.Password })).AssertError(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Confirmation_for_an_unknown_phone_is_refused_like_a_wrong_code()
    {
        await using var server = await ParleyServer.StartAsync();
        var (_, phone) = await SignUpAsync(server);
        using var api = server.Api();
        var code = LoggedCodes.Required(server, "confirm", phone);

        var wrongCode = await api.PostAsync("/auth/account-confirmation", new { phoneNumber = phone, code = LoggedCodes.WrongCode(code) });
        var unknownPhone = await api.PostAsync("/auth/account-confirmation", new { phoneNumber = Accounts.NewPhone(), code });

        unknownPhone.AssertError(HttpStatusCode.BadRequest);
        Assert.Equal(wrongCode.Status, unknownPhone.Status);
        Assert.Equal(wrongCode.Json.GetRawText(), unknownPhone.Json.GetRawText());
    }

    [Fact]
    public async Task Sign_in_with_a_wrong_password_is_401_even_before_confirmation()
    {
        await using var server = await ParleyServer.StartAsync();
        var (_, phone) = await SignUpAsync(server);
        using var api = server.Api();

        var wrong = await api.PostAsync("/auth/sign-in", new { phoneNumber = phone, password = "not-the-password" });
        var unknown = await api.PostAsync("/auth/sign-in", new { phoneNumber = Accounts.NewPhone(), password = "not-the-password" });

        wrong.AssertError(HttpStatusCode.Unauthorized);
        Assert.Equal(wrong.Json.GetRawText(), unknown.Json.GetRawText());
        Assert.Equal(unknown.Status, wrong.Status);
    }

    [Fact]
    public async Task Sign_up_refuses_a_confirmed_phone_number_with_409()
    {
        await using var server = await ParleyServer.StartAsync();
        var (_, phone) = await SignUpAsync(server);
        using var api = server.Api();
        // A number nobody confirmed may be signed up again (PhoneRecoveryTests); a confirmed one is taken.
        (await api.PostAsync("/auth/account-confirmation", new { phoneNumber = phone, code = LoggedCodes.Required(server, "confirm", phone) }))
            .AssertStatus(HttpStatusCode.OK, "confirm");

        var again = await api.PostAsync("/auth/sign-up", new { phoneNumber = phone, password = Accounts.Password, name = "Twin" });

        again.AssertError(HttpStatusCode.Conflict);
    }

    [Theory]
    [InlineData("{\"password\":\"a-long-test-passphrase\",\"name\":\"N\"}", "phoneNumber")]
    [InlineData("{\"phoneNumber\":\"4155550123\",\"password\":\"a-long-test-passphrase\",\"name\":\"N\"}", "phoneNumber")]
    [InlineData("{\"phoneNumber\":\"+0155550123\",\"password\":\"a-long-test-passphrase\",\"name\":\"N\"}", "phoneNumber")]
    [InlineData("{\"phoneNumber\":\"+1 415 555 0123\",\"password\":\"a-long-test-passphrase\",\"name\":\"N\"}", "phoneNumber")]
    [InlineData("{\"phoneNumber\":\"+1415555012345678\",\"password\":\"a-long-test-passphrase\",\"name\":\"N\"}", "phoneNumber")]
    [InlineData("{\"phoneNumber\":\"+14155550123\",\"password\":\"short\",\"name\":\"N\"}", "password")]
    [InlineData("{\"phoneNumber\":\"+14155550123\",\"password\":\"password1\",\"name\":\"N\"}", "password")]
    [InlineData("{\"phoneNumber\":\"+14155550123\",\"password\":\"a-long-test-passphrase\"}", "name")]
    public async Task Sign_up_refuses_a_bad_field_with_400(string body, string field)
    {
        await using var server = await ParleyServer.StartAsync();
        using var api = server.Api();

        var response = await api.PostAsync("/auth/sign-up", body);

        Assert.Contains(field, response.AssertError(HttpStatusCode.BadRequest));
        Assert.Equal(0, LoggedCodes.Count(server, "confirm", "+14155550123"));
    }

    [Fact]
    public async Task Confirmation_without_a_code_is_a_bad_request()
    {
        await using var server = await ParleyServer.StartAsync();
        var (_, phone) = await SignUpAsync(server);
        using var api = server.Api();

        var response = await api.PostAsync("/auth/account-confirmation", new { phoneNumber = phone });

        Assert.Contains("code", response.AssertError(HttpStatusCode.BadRequest));
    }
}
