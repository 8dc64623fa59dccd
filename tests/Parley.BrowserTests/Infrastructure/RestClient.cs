using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Parley.BrowserTests.Infrastructure;

/// <summary>Seeds data through the public REST API (for what would be slow to click through, like a long history).</summary>
public sealed class RestClient(TestServer server) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    public async Task<(string UserId, string Token)> RegisterAsync(string name, string email, string password)
    {
        (await _http.PostAsJsonAsync("/auth/register", new { email, password, name })).EnsureSuccessStatusCode();
        var login = await _http.PostAsJsonAsync("/auth/login", new { email, password });
        login.EnsureSuccessStatusCode();
        var json = await login.Content.ReadFromJsonAsync<JsonElement>();
        return (json.GetProperty("user").GetProperty("id").GetString()!, json.GetProperty("accessToken").GetString()!);
    }

    public async Task<JsonElement> PostAsync(string token, string path, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"POST {path}: {(int)response.StatusCode} {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    public async Task DeleteAsync(string token, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _http.SendAsync(request);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"DELETE {path}: {(int)response.StatusCode}");
    }

    public void Dispose() => _http.Dispose();
}
