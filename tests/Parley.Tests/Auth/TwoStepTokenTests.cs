using System.Net;
using Parley.Testing;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Auth;

/// <summary>The token a password answers with when two-step verification is on (<c>mfaToken</c>)
/// is spent by the session it produces and by five wrong codes, on every node (a try the account's
/// lock refuses is not one of them); a spent token is refused before its code is looked at, so a
/// recovery code sent with it is not used up.</summary>
public sealed class TwoStepTokenTests
{
    private const string SignInAgain = "sign in again with your password";

    private static async Task<string> ChallengeAsync(ApiClient api, TestUser user)
    {
        var challenge = await api.PostAsync("/auth/login", new { email = user.Email, password = user.Password });
        challenge.AssertStatus(HttpStatusCode.OK, "login");
        return challenge.Json.Str("mfaToken")!;
    }

    private static Task<ApiClient.Response> SecondStep(ApiClient api, string mfaToken, string code) =>
        api.PostAsync("/auth/mfa", new { mfaToken, code });

    [Fact]
    public async Task A_token_that_produced_a_session_is_spent()
    {
        await using var server = await ParleyServer.StartAsync();
        var enrolled = await TwoStepTests.EnrolAsync(server);
        using var api = server.Api();
        var mfaToken = await ChallengeAsync(api, enrolled.User);

        (await SecondStep(api, mfaToken, TestTotp.Code(enrolled.Secret, enrolled.ConfirmedStep + 1))).AssertStatus(HttpStatusCode.OK, "the second step");
        var again = await SecondStep(api, mfaToken, enrolled.RecoveryCodes[0]);

        Assert.Contains(SignInAgain, again.AssertError(HttpStatusCode.Unauthorized));
        // The recovery code sent with the spent token was not used up.
        (await SecondStep(api, await ChallengeAsync(api, enrolled.User), enrolled.RecoveryCodes[0])).AssertStatus(HttpStatusCode.OK, "a fresh sign-in");
    }

    [Fact]
    public async Task Five_wrong_codes_spend_the_token()
    {
        await using var server = await ParleyServer.StartAsync();
        var enrolled = await TwoStepTests.EnrolAsync(server);
        using var api = server.Api();
        var mfaToken = await ChallengeAsync(api, enrolled.User);

        var wrong = new List<string>();
        for (var i = 0; i < 5; i++) wrong.Add((await SecondStep(api, mfaToken, "000000")).AssertError(HttpStatusCode.Unauthorized));
        var sixth = await SecondStep(api, mfaToken, enrolled.RecoveryCodes[0]);

        Assert.All(wrong, error => Assert.DoesNotContain(SignInAgain, error));
        Assert.Contains(SignInAgain, sixth.AssertError(HttpStatusCode.Unauthorized));
        (await SecondStep(api, await ChallengeAsync(api, enrolled.User), enrolled.RecoveryCodes[0])).AssertStatus(HttpStatusCode.OK, "a fresh sign-in");
    }

    [Fact]
    public async Task Tries_the_accounts_lock_refuses_leave_the_token_its_tries()
    {
        var clock = new TestClock();
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Auth:AttemptsPerAccountPer15Minutes"] = "3" }, clock: clock);
        var enrolled = await TwoStepTests.EnrolAsync(server);
        using var api = server.Api();
        var first = await ChallengeAsync(api, enrolled.User);
        for (var i = 0; i < 3; i++) (await SecondStep(api, first, "000000")).AssertError(HttpStatusCode.Unauthorized);

        // Near the end of the account's 15 minutes, a fresh sign-in meets the lock five times.
        clock.Advance(TimeSpan.FromMinutes(11));
        var second = await ChallengeAsync(api, enrolled.User);
        for (var i = 0; i < 5; i++) (await SecondStep(api, second, enrolled.RecoveryCodes[0])).AssertError(HttpStatusCode.TooManyRequests);

        // Once the lock ends, within the token's five minutes, its code is taken.
        clock.Advance(TimeSpan.FromMinutes(4.5));
        (await SecondStep(api, second, enrolled.RecoveryCodes[0])).AssertStatus(HttpStatusCode.OK, "the second step once the lock ended");
    }

    [Fact]
    public async Task A_spent_token_costs_the_account_none_of_its_guesses()
    {
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Auth:AttemptsPerAccountPer15Minutes"] = "6" });
        var enrolled = await TwoStepTests.EnrolAsync(server);
        using var api = server.Api();
        var spent = await ChallengeAsync(api, enrolled.User);
        for (var i = 0; i < 5; i++) (await SecondStep(api, spent, "000000")).AssertError(HttpStatusCode.Unauthorized);

        // Five failures of six: tries with the spent token take none of the one left.
        for (var i = 0; i < 3; i++) Assert.Contains(SignInAgain, (await SecondStep(api, spent, "000000")).AssertError(HttpStatusCode.Unauthorized));
        (await SecondStep(api, await ChallengeAsync(api, enrolled.User), enrolled.RecoveryCodes[0])).AssertStatus(HttpStatusCode.OK, "a fresh sign-in");
    }

    [Fact]
    public async Task Of_right_codes_sent_at_once_with_one_token_only_one_gets_a_session()
    {
        await using var server = await ParleyServer.StartAsync();
        var enrolled = await TwoStepTests.EnrolAsync(server);
        using var api = server.Api();
        var mfaToken = await ChallengeAsync(api, enrolled.User);

        var answers = await Task.WhenAll(enrolled.RecoveryCodes.Take(5).Select(code => SecondStep(api, mfaToken, code)));

        Assert.Single(answers, answer => answer.Status == HttpStatusCode.OK);
        Assert.All(answers.Where(answer => answer.Status != HttpStatusCode.OK), answer => answer.AssertError(HttpStatusCode.Unauthorized));
    }

    [Fact]
    public async Task Uses_of_a_token_are_counted_in_the_store_so_every_node_and_a_restart_refuse_it()
    {
        var shared = Path.Combine(Path.GetTempPath(), "parley-tests", Guid.NewGuid().ToString("N"));
        try
        {
            await using var first = await ParleyServer.StartAsync(dataDirectory: shared);
            var enrolled = await TwoStepTests.EnrolAsync(first);
            string used, tried;
            using (var api = first.Api())
            {
                used = await ChallengeAsync(api, enrolled.User);
                (await SecondStep(api, used, TestTotp.Code(enrolled.Secret, enrolled.ConfirmedStep + 1))).AssertStatus(HttpStatusCode.OK, "the second step");
                tried = await ChallengeAsync(api, enrolled.User);
                for (var i = 0; i < 4; i++) (await SecondStep(api, tried, "000000")).AssertError(HttpStatusCode.Unauthorized);
            }
            // A second node on the same store (on SQLite, where one process owns the file: the same node restarted).
            if (TestBackend.Store == TestStore.Sqlite) await first.DisposeAsync();
            await using var second = await ParleyServer.StartAsync(dataDirectory: shared);
            using var secondApi = second.Api();

            Assert.Contains(SignInAgain, (await SecondStep(secondApi, used, enrolled.RecoveryCodes[0])).AssertError(HttpStatusCode.Unauthorized));
            // The fifth wrong code is still a wrong code; after it the token is spent.
            Assert.DoesNotContain(SignInAgain, (await SecondStep(secondApi, tried, "000000")).AssertError(HttpStatusCode.Unauthorized));
            Assert.Contains(SignInAgain, (await SecondStep(secondApi, tried, enrolled.RecoveryCodes[0])).AssertError(HttpStatusCode.Unauthorized));
            if (TestBackend.Store != TestStore.Sqlite)
            {
                using var firstApi = first.Api();
                Assert.Contains(SignInAgain, (await SecondStep(firstApi, used, enrolled.RecoveryCodes[0])).AssertError(HttpStatusCode.Unauthorized));
            }
        }
        finally
        {
            await TestBackend.ReleaseAsync(shared);
            if (Directory.Exists(shared)) Directory.Delete(shared, recursive: true);
        }
    }
}
