using System.Net;
using System.Text.Json;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Auth;

/// <summary>Every bad field of a registration or login answers 400 with a sentence naming the
/// field; duplicates answer 409; login failures do not tell which accounts exist.</summary>
public sealed class RegistrationValidationTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    private static string Body(string? email, string? password, string? name)
    {
        var body = new Dictionary<string, string?>();
        if (email is not null) body["email"] = email;
        if (password is not null) body["password"] = password;
        if (name is not null) body["name"] = name;
        return JsonSerializer.Serialize(body);
    }

    // Never registered: every body below is refused before anything is stored.
    private const string UniqueEmail = "never-registered@example.com";

    public static TheoryData<string, string, string> BadRegistrations()
    {
        const string ok = Accounts.Password;
        var longLocal = new string('a', 250) + "@example.com"; // 262 characters
        return new TheoryData<string, string, string>
        {
            // body, field the error must name, why
            { Body(null, ok, "Name"), "email", "email missing" },
            { Body("", ok, "Name"), "email", "email empty" },
            { Body("   ", ok, "Name"), "email", "email blank" },
            { Body(longLocal, ok, "Name"), "email", "email too long" },
            { Body("not-an-email", ok, "Name"), "email", "email without @" },
            { Body("two@@example.com", ok, "Name"), "email", "email with two @" },
            { Body("no-domain-dot@example", ok, "Name"), "email", "email without a dot in the domain" },
            { Body("spaces in@example.com", ok, "Name"), "email", "email with spaces" },
            { Body("@example.com", ok, "Name"), "email", "email without a local part" },
            { Body(UniqueEmail, null, "Name"), "password", "password missing" },
            { Body(UniqueEmail, "", "Name"), "password", "password empty" },
            { Body(UniqueEmail, "short7!", "Name"), "password", "password of 7 characters" },
            { Body(UniqueEmail, new string('x', 120) + "-too-long", "Name"), "password", "password of 129 characters" },
            { Body(UniqueEmail, "password123", "Name"), "password", "common password" },
            { Body(UniqueEmail, "PASSWORD123", "Name"), "password", "common password in capitals" },
            { Body(UniqueEmail, "qwertyuiop", "Name"), "password", "common keyboard walk" },
            { Body(UniqueEmail, "12345678", "Name"), "password", "common digits" },
            { Body(UniqueEmail, ok, null), "name", "name missing" },
            { Body(UniqueEmail, ok, ""), "name", "name empty" },
            { Body(UniqueEmail, ok, "    "), "name", "name blank" },
            { Body(UniqueEmail, ok, new string('n', 65)), "name", "name of 65 characters" },
            { Body(UniqueEmail, ok, "Bad\u0000Name"), "name", "name with a control character" },
        };
    }

    [Theory]
    [MemberData(nameof(BadRegistrations))]
    public async Task Register_refuses_a_bad_field_with_400_and_a_sentence_naming_it(string body, string field, string why)
    {
        using var api = Server.Api();
        var response = await api.PostAsync("/auth/register", body);

        var error = response.AssertError(HttpStatusCode.BadRequest);
        Assert.True(error.Contains(field, StringComparison.OrdinalIgnoreCase), $"{why}: error '{error}' does not name {field}");
    }

    [Fact]
    public async Task Register_accepts_the_longest_allowed_values()
    {
        using var api = Server.Api();
        var email = new string('e', 254 - "@example.com".Length - 32) + Guid.NewGuid().ToString("N") + "@example.com";
        Assert.Equal(254, email.Length);
        var response = await api.PostAsync("/auth/register", new { email, password = new string('p', 120) + "-limit-8", name = new string('n', 64) });

        Assert.Equal(HttpStatusCode.Created, response.Status);
    }

    [Fact]
    public async Task Register_accepts_a_password_of_exactly_eight_characters()
    {
        using var api = Server.Api();
        var response = await api.PostAsync("/auth/register", new { email = Accounts.NewEmail(), password = "k7#vQz!m", name = "Eight" });

        Assert.Equal(HttpStatusCode.Created, response.Status);
    }

    [Fact]
    public async Task Register_refuses_an_email_already_taken_with_409()
    {
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(Server, email);
        using var api = Server.Api();

        var again = await api.PostAsync("/auth/register", new { email, password = "another-passphrase", name = "Someone Else" });

        again.AssertError(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Register_treats_emails_that_differ_only_in_case_as_the_same_account()
    {
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(Server, email);
        using var api = Server.Api();

        var upper = await api.PostAsync("/auth/register", new { email = email.ToUpperInvariant(), password = Accounts.Password, name = "Shouting" });
        upper.AssertError(HttpStatusCode.Conflict);
        var padded = await api.PostAsync("/auth/register", new { email = " " + email + " ", password = Accounts.Password, name = "Padded" });
        padded.AssertError(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Concurrent_registrations_of_one_email_create_exactly_one_account()
    {
        var email = Accounts.NewEmail();
        var clients = Enumerable.Range(0, 6).Select(_ => Server.Api()).ToList();

        var answers = await Task.WhenAll(clients.Select((c, i) =>
            c.PostAsync("/auth/register", new { email = i % 2 == 0 ? email : email.ToUpperInvariant(), password = Accounts.Password, name = "Racer " + i })));

        Assert.Single(answers, a => a.Status == HttpStatusCode.Created);
        Assert.All(answers.Where(a => a.Status != HttpStatusCode.Created), a => a.AssertError(HttpStatusCode.Conflict));
        clients.ForEach(c => c.Dispose());
    }

    [Fact]
    public async Task The_duplicate_attempt_leaves_the_first_account_and_its_password_intact()
    {
        var email = Accounts.NewEmail();
        var userId = await Accounts.RegisterAsync(Server, email);
        using var api = Server.Api();
        (await api.PostAsync("/auth/register", new { email, password = "hijacker-passphrase", name = "Hijacker" })).AssertError(HttpStatusCode.Conflict);

        Assert.Equal(HttpStatusCode.Unauthorized, (await api.PostAsync("/auth/login", new { email, password = "hijacker-passphrase" })).Status);
        var login = await api.PostAsync("/auth/login", new { email, password = Accounts.Password });
        Assert.Equal(HttpStatusCode.OK, login.Status);
        Assert.Equal(userId, login.Json.GetProperty("user").GetProperty("id").GetString());
    }

    [Fact]
    public async Task Unknown_email_and_wrong_password_give_the_same_status_and_body()
    {
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(Server, email);
        using var api = Server.Api();

        var wrongPassword = await api.PostAsync("/auth/login", new { email, password = "not-the-right-one" });
        var unknownEmail = await api.PostAsync("/auth/login", new { email = Accounts.NewEmail(), password = "not-the-right-one" });

        wrongPassword.AssertError(HttpStatusCode.Unauthorized);
        Assert.Equal(wrongPassword.Status, unknownEmail.Status);
        Assert.Equal(wrongPassword.Json.GetRawText(), unknownEmail.Json.GetRawText());
        Assert.Equal(wrongPassword.Raw.Content.Headers.ContentType?.ToString(), unknownEmail.Raw.Content.Headers.ContentType?.ToString());
    }

    [Theory]
    [InlineData("{\"password\":\"a-long-test-passphrase\"}", "email")]
    [InlineData("{\"email\":\"\",\"password\":\"a-long-test-passphrase\"}", "email")]
    [InlineData("{\"email\":\"someone@example.com\"}", "password")]
    [InlineData("{\"email\":\"someone@example.com\",\"password\":\"\"}", "password")]
    public async Task Login_refuses_a_missing_field_with_400(string body, string field)
    {
        using var api = Server.Api();
        var response = await api.PostAsync("/auth/login", body);

        Assert.Contains(field, response.AssertError(HttpStatusCode.BadRequest));
    }
}
