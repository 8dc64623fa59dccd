using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Parley.Tests.Infrastructure;

/// <summary>An HTTP client for one user: JSON in, status and JSON out.</summary>
public sealed class ApiClient(HttpClient http, string? accessToken) : IDisposable
{
    public HttpClient Http { get; } = http;
    public string? AccessToken { get; set; } = accessToken;

    public sealed record Response(HttpStatusCode Status, JsonElement Json, HttpResponseMessage Raw)
    {
        public string? Error => Json.ValueKind == JsonValueKind.Object && Json.TryGetProperty("error", out var e) ? e.GetString() : null;
    }

    public Task<Response> GetAsync(string path) => SendAsync(HttpMethod.Get, path, null);
    public Task<Response> PostAsync(string path, object? body) => SendAsync(HttpMethod.Post, path, body);
    public Task<Response> PutAsync(string path, object? body) => SendAsync(HttpMethod.Put, path, body);
    public Task<Response> PatchAsync(string path, object? body) => SendAsync(HttpMethod.Patch, path, body);
    public Task<Response> DeleteAsync(string path) => SendAsync(HttpMethod.Delete, path, null);

    public async Task<Response> SendAsync(HttpMethod method, string path, object? body)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is string raw)
        {
            request.Content = new StringContent(raw, Encoding.UTF8, "application/json");
        }
        else if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }
        return await SendAsync(request);
    }

    public async Task<Response> SendAsync(HttpRequestMessage request)
    {
        if (AccessToken is not null && request.Headers.Authorization is null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AccessToken);
        }
        var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var json = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        return new Response(response.StatusCode, json, response);
    }

    /// <summary>Registers and signs in a new user with a unique email; returns a client holding its token.</summary>
    public static async Task<TestUser> CreateUserAsync(ParleyServer server, string? name = null)
    {
        var api = server.Api();
        var email = $"user-{Guid.NewGuid():N}@example.com";
        const string password = "a-long-test-passphrase";
        name ??= "User " + email[5..11];
        var registered = await api.PostAsync("/auth/register", new { email, password, name });
        if (registered.Status != HttpStatusCode.Created) throw new InvalidOperationException($"register failed: {registered.Status} {registered.Json}");
        var login = await api.PostAsync("/auth/login", new { email, password });
        if (login.Status != HttpStatusCode.OK) throw new InvalidOperationException($"login failed: {login.Status} {login.Json}");
        api.AccessToken = login.Json.GetProperty("accessToken").GetString();
        return new TestUser(registered.Json.GetProperty("userId").GetString()!, email, password, name, api,
            login.Json.GetProperty("refreshToken").GetString()!);
    }

    /// <summary>A user made on another server (or before a restart), signed in on this one: a client
    /// holding the new session's tokens.</summary>
    public static async Task<TestUser> SignInAgainAsync(ParleyServer server, TestUser user)
    {
        var session = await Accounts.LoginAsync(server, user.Email, user.Password);
        return user with { Api = server.Api(session.AccessToken), RefreshToken = session.RefreshToken };
    }

    public void Dispose() => Http.Dispose();
}

public sealed record TestUser(string Id, string Email, string Password, string Name, ApiClient Api, string RefreshToken)
{
    public string AccessToken => Api.AccessToken!;
}
