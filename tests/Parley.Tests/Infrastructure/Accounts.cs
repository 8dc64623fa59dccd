using System.Net;

namespace Parley.Tests.Infrastructure;

/// <summary>Account helpers for auth tests that need to choose the email, password or name.</summary>
public static class Accounts
{
    public const string Password = "a-long-test-passphrase";

    public static string NewEmail(string prefix = "user") => $"{prefix}-{Guid.NewGuid():N}@example.com";

    /// <summary>A password that appears nowhere else, so a search for it in logs or files means it leaked.</summary>
    public static string UniquePassword() => "Secret-" + Guid.NewGuid().ToString("N");

    /// <summary>An E.164 number unique enough for one test run.</summary>
    public static string NewPhone() => "+1555" + Random.Shared.NextInt64(1_000_000, 9_999_999).ToString();

    public static async Task<string> RegisterAsync(ParleyServer server, string email, string password = Password, string name = "Test User")
    {
        using var api = server.Api();
        var response = await api.PostAsync("/auth/register", new { email, password, name });
        Assert.True(response.Status == HttpStatusCode.Created, $"register: {response.Status} {response.Json}");
        return response.Json.GetProperty("userId").GetString()!;
    }

    /// <summary>Logs in and returns the login answer (asserting 200).</summary>
    public static async Task<Session> LoginAsync(ParleyServer server, string email, string password = Password)
    {
        using var api = server.Api();
        var response = await api.PostAsync("/auth/login", new { email, password });
        Assert.True(response.Status == HttpStatusCode.OK, $"login: {response.Status} {response.Json}");
        return Session.From(response);
    }
}

/// <summary>The tokens of one sign-in (or refresh).</summary>
public sealed record Session(string AccessToken, string RefreshToken, string IdToken, int ExpiresIn)
{
    public static Session From(ApiClient.Response response) => new(
        response.Json.GetProperty("accessToken").GetString()!,
        response.Json.GetProperty("refreshToken").GetString()!,
        response.Json.GetProperty("idToken").GetString()!,
        response.Json.GetProperty("expiresIn").GetInt32());
}
