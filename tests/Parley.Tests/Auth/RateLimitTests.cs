using System.Net;
using Parley.Testing;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Auth;

/// <summary>Credential endpoints are limited per client IP and per account, answering 429 with a
/// Retry-After header. Limits are fixed windows, so each test first spends the allowance (which
/// must be granted) and then keeps going until refused: a window that happens to roll over in
/// between only postpones the 429, it cannot hide it.</summary>
public sealed class RateLimitTests
{
    private const int Limit = 3;

    private static readonly Dictionary<string, string?> AccountLimit = new() { ["Parley:Auth:AttemptsPerAccountPer15Minutes"] = Limit.ToString() };

    private static async Task<ApiClient.Response> SpendUntilRefused(Func<int, Task<ApiClient.Response>> attempt)
    {
        for (var i = 0; i < Limit; i++)
        {
            var allowed = await attempt(i);
            Assert.True(allowed.Status != HttpStatusCode.TooManyRequests, $"attempt {i + 1} of an allowance of {Limit} was refused");
        }
        for (var i = Limit; i < 2 * Limit + 1; i++)
        {
            var response = await attempt(i);
            if (response.Status == HttpStatusCode.TooManyRequests) return response;
        }
        Assert.Fail($"no 429 after {2 * Limit + 1} attempts with a limit of {Limit}");
        throw new InvalidOperationException();
    }

    private static void AssertRetryAfter(ApiClient.Response response)
    {
        response.AssertError(HttpStatusCode.TooManyRequests);
        var retryAfter = response.Raw.Headers.RetryAfter;
        Assert.NotNull(retryAfter);
        Assert.NotNull(retryAfter.Delta);
        Assert.True(retryAfter.Delta > TimeSpan.Zero, $"Retry-After is {retryAfter.Delta}");
    }

    public static TheoryData<string> IpLimitedEndpoints => ["/auth/register", "/auth/login", "/auth/refresh", "/auth/sign-up", "/auth/sign-in", "/auth/forgot-password",
        "/auth/account-confirmation", "/auth/reset-password", "/auth/resend-code"];

    [Theory]
    [MemberData(nameof(IpLimitedEndpoints))]
    public async Task Credential_endpoints_answer_429_with_Retry_After_over_the_per_IP_limit(string path)
    {
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?>
        {
            ["Parley:Auth:AttemptsPerIpPerMinute"] = Limit.ToString(),
        });
        using var api = server.Api();

        // A different account every time, so only the IP limit can be what refuses.
        var refused = await SpendUntilRefused(i => api.PostAsync(path, new
        {
            email = Accounts.NewEmail(),
            phoneNumber = Accounts.NewPhone(),
            password = Accounts.Password,
            name = "Flood " + i,
            refreshToken = "unknown-" + i,
            code = "123456",
            newPassword = "a-brand-new-passphrase",
        }));

        AssertRetryAfter(refused);
    }

    [Fact]
    public async Task Login_answers_429_with_Retry_After_over_the_per_account_limit_while_other_accounts_still_log_in()
    {
        await using var server = await ParleyServer.StartAsync(AccountLimit);
        var victim = Accounts.NewEmail();
        var bystander = Accounts.NewEmail();
        await Accounts.RegisterAsync(server, victim);
        await Accounts.RegisterAsync(server, bystander);
        using var api = server.Api();

        var refused = await SpendUntilRefused(_ => api.PostAsync("/auth/login", new { email = victim, password = "guess-" + Guid.NewGuid() }));

        AssertRetryAfter(refused);
        // The limit is on the account, not the caller: the same IP still logs into another account...
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsync("/auth/login", new { email = bystander, password = Accounts.Password })).Status);
        // ...while the guessed-at account stays closed even to the right password (and to other spellings of its email).
        AssertRetryAfter(await api.PostAsync("/auth/login", new { email = victim, password = Accounts.Password }));
        AssertRetryAfter(await api.PostAsync("/auth/login", new { email = victim.ToUpperInvariant(), password = Accounts.Password }));
    }

    [Fact]
    public async Task Attempts_per_account_are_counted_in_the_store_so_every_node_and_a_restart_keep_the_lock()
    {
        var shared = Path.Combine(Path.GetTempPath(), "parley-tests", Guid.NewGuid().ToString("N"));
        try
        {
            await using var first = await ParleyServer.StartAsync(AccountLimit, shared);
            var victim = Accounts.NewEmail();
            await Accounts.RegisterAsync(first, victim);
            var phone = Accounts.NewPhone();
            using (var api = first.Api())
            {
                for (var i = 0; i < Limit - 1; i++) (await api.PostAsync("/auth/login", new { email = victim, password = "guess-" + i })).AssertError(HttpStatusCode.Unauthorized);
                // Codes sent to one number are counted the same way.
                for (var i = 0; i < Limit; i++) (await api.PostAsync("/auth/resend-code", new { phoneNumber = phone })).AssertStatus(HttpStatusCode.Accepted, "resend-code");
            }
            // A second node on the same store (on SQLite, where one process owns the file: the same node restarted).
            if (TestBackend.Store == TestStore.Sqlite) await first.DisposeAsync();
            await using var second = await ParleyServer.StartAsync(AccountLimit, shared);
            using var secondApi = second.Api();

            (await secondApi.PostAsync("/auth/login", new { email = victim, password = "last-guess" })).AssertError(HttpStatusCode.Unauthorized);
            AssertRetryAfter(await secondApi.PostAsync("/auth/login", new { email = victim, password = Accounts.Password }));
            AssertRetryAfter(await secondApi.PostAsync("/auth/resend-code", new { phoneNumber = phone }));
            if (TestBackend.Store != TestStore.Sqlite)
            {
                using var firstApi = first.Api();
                AssertRetryAfter(await firstApi.PostAsync("/auth/login", new { email = victim, password = Accounts.Password }));
            }
        }
        finally
        {
            await TestBackend.ReleaseAsync(shared);
            if (Directory.Exists(shared)) Directory.Delete(shared, recursive: true);
        }
    }

    [Fact]
    public async Task Attempts_per_IP_are_counted_in_the_store_so_nodes_share_one_allowance()
    {
        var shared = Path.Combine(Path.GetTempPath(), "parley-tests", Guid.NewGuid().ToString("N"));
        var ipLimit = new Dictionary<string, string?> { ["Parley:Auth:AttemptsPerIpPerMinute"] = Limit.ToString() };
        static Task<ApiClient.Response> Guess(ApiClient api) => api.PostAsync("/auth/login", new { email = Accounts.NewEmail(), password = "wrong" });
        try
        {
            await using var first = await ParleyServer.StartAsync(ipLimit, shared);
            using (var api = first.Api())
            {
                for (var i = 0; i < Limit - 1; i++) (await Guess(api)).AssertError(HttpStatusCode.Unauthorized);
            }
            // A second node on the same store (on SQLite, where one process owns the file: the same
            // node restarted, which forgets what it counted in memory).
            if (TestBackend.Store == TestStore.Sqlite) await first.DisposeAsync();
            await using var second = await ParleyServer.StartAsync(ipLimit, shared);
            using var secondApi = second.Api();

            // One attempt of the minute's allowance is left for this IP, on any node.
            (await Guess(secondApi)).AssertError(HttpStatusCode.Unauthorized);
            AssertRetryAfter(await Guess(secondApi));
            if (TestBackend.Store != TestStore.Sqlite)
            {
                using var firstApi = first.Api();
                AssertRetryAfter(await Guess(firstApi));
            }
        }
        finally
        {
            await TestBackend.ReleaseAsync(shared);
            if (Directory.Exists(shared)) Directory.Delete(shared, recursive: true);
        }
    }

    [Fact]
    public async Task A_password_reset_lets_the_owner_of_a_locked_account_sign_in_at_once()
    {
        await using var server = await ParleyServer.StartAsync(AccountLimit);
        var victim = Accounts.NewEmail();
        await Accounts.RegisterAsync(server, victim);
        using var api = server.Api();
        await SpendUntilRefused(_ => api.PostAsync("/auth/login", new { email = victim, password = "guess-" + Guid.NewGuid() }));
        AssertRetryAfter(await api.PostAsync("/auth/login", new { email = victim, password = Accounts.Password }));

        (await api.PostAsync("/auth/forgot-password", new { email = victim })).AssertStatus(HttpStatusCode.Accepted, "forgot-password");
        var code = LoggedCodes.Required(server, "reset", victim);
        (await api.PostAsync("/auth/reset-password", new { email = victim, code, newPassword = "a-brand-new-passphrase" }))
            .AssertStatus(HttpStatusCode.NoContent, "reset-password");

        (await api.PostAsync("/auth/login", new { email = victim, password = "a-brand-new-passphrase" })).AssertStatus(HttpStatusCode.OK, "login after the reset");
    }

    [Fact]
    public async Task Phone_sign_in_answers_429_with_Retry_After_over_the_per_account_limit()
    {
        await using var server = await ParleyServer.StartAsync(AccountLimit);
        using var api = server.Api();
        var phone = Accounts.NewPhone();
        Assert.Equal(HttpStatusCode.Created, (await api.PostAsync("/auth/sign-up", new { phoneNumber = phone, password = Accounts.Password, name = "Target" })).Status);

        var refused = await SpendUntilRefused(_ => api.PostAsync("/auth/sign-in", new { phoneNumber = phone, password = "guess-" + Guid.NewGuid() }));

        AssertRetryAfter(refused);
    }

    [Fact]
    public async Task Unknown_accounts_are_limited_like_known_ones()
    {
        // Otherwise the 429 itself would tell an attacker which emails have accounts.
        await using var server = await ParleyServer.StartAsync(AccountLimit);
        using var api = server.Api();
        var nobody = Accounts.NewEmail();

        var refused = await SpendUntilRefused(_ => api.PostAsync("/auth/login", new { email = nobody, password = "guess-" + Guid.NewGuid() }));

        AssertRetryAfter(refused);
    }

    [Fact]
    public async Task Successful_sign_ins_do_not_count_toward_the_per_account_limit()
    {
        await using var server = await ParleyServer.StartAsync(AccountLimit);
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(server, email);
        using var api = server.Api();
        var phone = Accounts.NewPhone();
        (await api.PostAsync("/auth/sign-up", new { phoneNumber = phone, password = Accounts.Password, name = "Many Devices" })).AssertStatus(HttpStatusCode.Created, "sign-up");
        (await api.PostAsync("/auth/account-confirmation", new { phoneNumber = phone, code = LoggedCodes.Required(server, "confirm", phone) }))
            .AssertStatus(HttpStatusCode.OK, "confirm");

        // Several devices and reloads: far more sign-ins than the limit, each one right.
        for (var i = 0; i < 4 * Limit; i++)
        {
            (await api.PostAsync("/auth/login", new { email, password = Accounts.Password })).AssertStatus(HttpStatusCode.OK, $"login {i + 1}");
            (await api.PostAsync("/auth/sign-in", new { phoneNumber = phone, password = Accounts.Password })).AssertStatus(HttpStatusCode.OK, $"sign-in {i + 1}");
        }

        // Failures still count: a guesser is stopped after the allowance, and then so is everyone.
        AssertRetryAfter(await SpendUntilRefused(_ => api.PostAsync("/auth/login", new { email, password = "guess-" + Guid.NewGuid() })));
        AssertRetryAfter(await api.PostAsync("/auth/login", new { email, password = Accounts.Password }));
    }
}
