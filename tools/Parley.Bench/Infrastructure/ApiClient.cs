using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Parley.Bench.Infrastructure;

/// <summary>A user the generator created: id, token and its index in the run.</summary>
public sealed class BenchUser(int index, string id, string email, string accessToken)
{
    public int Index { get; } = index;
    public string Id { get; } = id;
    public byte[] IdUtf8 { get; } = Encoding.UTF8.GetBytes(id);
    public string Email { get; } = email;
    public string AccessToken { get; set; } = accessToken;
}

public sealed class ApiException(string message) : Exception(message);

/// <summary>The REST side of the contract (API.md) that the workloads need, over one pooled HttpClient.</summary>
public sealed class ApiClient : IDisposable
{
    public const string Password = "bench-load-passphrase-7431";
    private readonly HttpClient _http;

    public Uri BaseAddress { get; }

    /// <summary>Sockets carry their token in the Authorization header instead of <c>?token=</c>.</summary>
    public bool WsTokenInHeader { get; }

    public ApiClient(Uri baseAddress, int maxConnections, bool wsTokenInHeader = false)
    {
        BaseAddress = baseAddress;
        WsTokenInHeader = wsTokenInHeader;
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = Math.Max(1, maxConnections),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
        };
        _http = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>Where a socket for <paramref name="accessToken"/> connects; in header mode the token
    /// goes in the socket's Authorization header instead (<see cref="Authorize"/>).</summary>
    public Uri WebSocketUri(string accessToken, string? since)
    {
        var scheme = BaseAddress.Scheme == "https" ? "wss" : "ws";
        var parameters = new List<string>();
        if (!WsTokenInHeader) parameters.Add("token=" + Uri.EscapeDataString(accessToken));
        if (since is not null) parameters.Add("since=" + Uri.EscapeDataString(since));
        return new Uri($"{scheme}://{BaseAddress.Authority}/ws{(parameters.Count == 0 ? "" : "?" + string.Join('&', parameters))}");
    }

    public void Authorize(System.Net.WebSockets.ClientWebSocket socket, string accessToken)
    {
        if (WsTokenInHeader) socket.Options.SetRequestHeader("Authorization", "Bearer " + accessToken);
    }

    /// <summary>Registers and signs in a user; retries a 429 after its Retry-After.</summary>
    public async Task<BenchUser> CreateUserAsync(int index, string runId, CancellationToken ct)
    {
        var email = $"bench-{runId}-{index}@bench.example";
        var registered = await SendJsonAsync(HttpMethod.Post, "/auth/register", null,
            new Dictionary<string, string> { ["email"] = email, ["password"] = Password, ["name"] = $"Bench {index}" }, ct);
        var id = registered.RootElement.GetProperty("userId").GetString()!;
        registered.Dispose();
        using var login = await SendJsonAsync(HttpMethod.Post, "/auth/login", null,
            new Dictionary<string, string> { ["email"] = email, ["password"] = Password }, ct);
        return new BenchUser(index, id, email, login.RootElement.GetProperty("accessToken").GetString()!);
    }

    /// <summary>Creates (or finds) the 1:1 chat of two users; returns its id.</summary>
    public async Task<string> CreateDirectChatAsync(BenchUser user, BenchUser partner, CancellationToken ct)
    {
        using var doc = await SendJsonAsync(HttpMethod.Post, "/chats", user.AccessToken, new Dictionary<string, string> { ["participantId"] = partner.Id }, ct);
        return doc.RootElement.GetProperty("id").GetString()!;
    }

    public async Task<string> CreateGroupAsync(BenchUser creator, string name, IEnumerable<string> memberIds, CancellationToken ct)
    {
        using var doc = await SendJsonAsync(HttpMethod.Post, "/groups", creator.AccessToken, new { name, memberIds = memberIds.ToArray() }, ct);
        return doc.RootElement.GetProperty("id").GetString()!;
    }

    public async Task AddGroupMembersAsync(BenchUser admin, string groupId, IEnumerable<string> memberIds, CancellationToken ct)
    {
        using var _ = await SendJsonAsync(HttpMethod.Post, $"/groups/{Uri.EscapeDataString(groupId)}/members", admin.AccessToken, new { memberIds = memberIds.ToArray() }, ct);
    }

    /// <summary>Sends a message over REST; returns its seq.</summary>
    public async Task<long> PostMessageAsync(BenchUser sender, string chatId, string content, string clientMessageId, CancellationToken ct) =>
        (await PostTextAsync(sender, chatId, content, clientMessageId, ct)).Seq;

    /// <summary>Sends a message over REST and deletes it for everyone.</summary>
    public async Task SendAndDeleteAsync(BenchUser sender, string chatId, string content, CancellationToken ct)
    {
        var (id, _) = await PostTextAsync(sender, chatId, content, null, ct);
        using var _ = await SendJsonAsync(HttpMethod.Delete, $"/messages/{Uri.EscapeDataString(id)}?for=everyone", sender.AccessToken, null, ct);
    }

    private async Task<(string Id, long Seq)> PostTextAsync(BenchUser sender, string chatId, string content, string? clientMessageId, CancellationToken ct)
    {
        var body = new Dictionary<string, string> { ["content"] = content };
        if (clientMessageId is not null) body["clientMessageId"] = clientMessageId;
        using var doc = await SendJsonAsync(HttpMethod.Post, $"/chats/{Uri.EscapeDataString(chatId)}/messages", sender.AccessToken, body, ct);
        return (doc.RootElement.GetProperty("id").GetString()!, doc.RootElement.GetProperty("seq").GetInt64());
    }

    /// <summary>The current sync cursor of a user (GET /sync without since).</summary>
    public async Task<string?> CurrentCursorAsync(BenchUser user, CancellationToken ct)
    {
        using var doc = await SendJsonAsync(HttpMethod.Get, "/sync", user.AccessToken, null, ct);
        return RawValue(doc.RootElement, "cursor");
    }

    /// <summary>GET returning the raw body bytes (the caller times the request and parses later).</summary>
    public async Task<byte[]> GetBytesAsync(string path, BenchUser user, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", user.AccessToken);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
        var body = await response.Content.ReadAsByteArrayAsync(ct);
        if (!response.IsSuccessStatusCode) throw new ApiException($"GET {path}: {(int)response.StatusCode} {Encoding.UTF8.GetString(body)}");
        return body;
    }

    /// <summary>The server's <c>/metrics</c> page; null when it does not serve one here.</summary>
    public async Task<string?> GetMetricsTextAsync(CancellationToken ct)
    {
        try
        {
            using var response = await _http.GetAsync("/metrics", ct);
            return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync(ct) : null;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>A JSON member as the string to send back (cursors and keys may be strings or numbers).</summary>
    public static string? RawValue(JsonElement element, string name)
    {
        if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out var value)) return null;
        return value.ValueKind switch
        {
            JsonValueKind.Null or JsonValueKind.Undefined => null,
            JsonValueKind.String => value.GetString(),
            _ => value.GetRawText(),
        };
    }

    private async Task<JsonDocument> SendJsonAsync(HttpMethod method, string path, string? token, object? body, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, path);
            if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            if (body is not null) request.Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body))
            {
                Headers = { ContentType = new MediaTypeHeaderValue("application/json") },
            };
            using var response = await _http.SendAsync(request, ct);
            var text = await response.Content.ReadAsByteArrayAsync(ct);
            if (response.StatusCode == HttpStatusCode.TooManyRequests && attempt < 20)
            {
                var wait = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1);
                await Task.Delay(wait, ct);
                continue;
            }
            if (!response.IsSuccessStatusCode)
            {
                throw new ApiException($"{method} {path}: {(int)response.StatusCode} {Encoding.UTF8.GetString(text)}");
            }
            return text.Length == 0 ? JsonDocument.Parse("{}") : JsonDocument.Parse(text);
        }
    }

    public void Dispose() => _http.Dispose();
}
