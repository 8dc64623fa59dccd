using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace Parley.Tests.Infrastructure;

/// <summary>One server frame as received: <c>{"type", "data", "cursor"?}</c>.</summary>
public sealed record WsFrame(string Type, JsonElement Data, string? Cursor, string Text)
{
    public string? ChatId => Str("chatId") ?? (Type == "chat" ? Str("id") : null);
    public string? MessageId => Str("messageId") ?? (Type is "message" or "messageUpdated" ? Str("id") : null);
    public string? Str(string name) =>
        Data.ValueKind == JsonValueKind.Object && Data.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
    /// <summary>A presence frame saying <paramref name="userId"/> came online (or went offline).</summary>
    public bool IsPresenceOf(string userId, bool online) =>
        Type == "presence" && Str("userId") == userId && Data.TryGetProperty("online", out var value)
        && value.ValueKind is JsonValueKind.True or JsonValueKind.False && value.GetBoolean() == online;
    public override string ToString() => Text.Length > 400 ? Text[..400] + "..." : Text;
}

/// <summary>Thrown when the server refused the WebSocket before the upgrade.</summary>
public sealed class WsRefusedException(HttpStatusCode? status, Exception inner, string? retryAfter = null)
    : Exception($"WebSocket refused with HTTP {(int?)status}", inner)
{
    public HttpStatusCode? Status { get; } = status;

    /// <summary>The refusal's <c>Retry-After</c> header, if it had one.</summary>
    public string? RetryAfter { get; } = retryAfter;
}

/// <summary>
/// A real WebSocket client for tests: connects to the server's <c>/ws</c>, sends JSON frames, and
/// reads every server frame on a background loop. Frames that no wait has asked for yet stay in a
/// backlog, so tests wait for what they care about in any order and nothing is dropped.
/// </summary>
public sealed class WsClient : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan DefaultQuietWindow = TimeSpan.FromMilliseconds(1500);

    private readonly ClientWebSocket _socket;
    private readonly HttpMessageInvoker? _invoker;
    private readonly Channel<WsFrame> _incoming = Channel.CreateUnbounded<WsFrame>();
    private readonly List<WsFrame> _backlog = [];
    private readonly List<WsFrame> _all = [];
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly SemaphoreSlim _waitLock = new(1, 1);
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _receiveLoop;

    public string Name { get; }
    /// <summary>The close code the server sent, if it closed with a close frame.</summary>
    public WebSocketCloseStatus? CloseStatus { get; private set; }
    public string? CloseDescription { get; private set; }
    /// <summary>True when the connection ended without a close handshake (the server aborted it).</summary>
    public bool Aborted { get; private set; }
    /// <summary>Completes when the receive loop has ended: the server closed or dropped the connection.</summary>
    public Task Ended => _ended.Task;
    public bool IsEnded => _ended.Task.IsCompleted;

    /// <summary>Every frame received so far, in order (including ones a wait already consumed).</summary>
    public IReadOnlyList<WsFrame> AllFrames { get { lock (_all) return _all.ToList(); } }

    private WsClient(ClientWebSocket socket, HttpMessageInvoker? invoker, string name)
    {
        _socket = socket;
        _invoker = invoker;
        Name = name;
    }

    /// <summary>Whether a socket with the token is refused for being over a cap (429) on the server;
    /// one that opens is closed again.</summary>
    public static async Task<bool> RefusedAsync(ParleyServer server, string token)
    {
        try
        {
            await using var extra = await ConnectAsync(server, token, name: "extra");
            await extra.CloseAsync();
            return false;
        }
        catch (WsRefusedException refused)
        {
            Xunit.Assert.Equal(HttpStatusCode.TooManyRequests, refused.Status);
            Xunit.Assert.True(int.TryParse(refused.RetryAfter, out var seconds) && seconds >= 1, $"429 with Retry-After '{refused.RetryAfter}'");
            return true;
        }
    }

    /// <summary>
    /// Connects with a token (query string) and an optional resume cursor. By default it starts
    /// reading and then exchanges a ping/pong, so the server is known to have registered the
    /// connection before the test goes on.
    /// </summary>
    public static async Task<WsClient> ConnectAsync(ParleyServer server, string? token, string? since = null,
        string? origin = null, bool useAuthorizationHeader = false, bool startReceiving = true, bool handshake = true,
        int? receiveBufferBytes = null, string? name = null, string? ticket = null)
    {
        var uri = server.WebSocketUri(useAuthorizationHeader ? null : token, since, ticket);
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        if (origin is not null) socket.Options.SetRequestHeader("Origin", origin);
        if (useAuthorizationHeader && token is not null) socket.Options.SetRequestHeader("Authorization", "Bearer " + token);

        HttpMessageInvoker? invoker = null;
        if (receiveBufferBytes is int bufferBytes)
        {
            // A tiny TCP receive window, so a client that stops reading pushes back on the server quickly.
            invoker = new HttpMessageInvoker(new SocketsHttpHandler
            {
                ConnectCallback = async (context, ct) =>
                {
                    var tcp = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = bufferBytes, NoDelay = true };
                    try
                    {
                        await tcp.ConnectAsync(context.DnsEndPoint, ct);
                        return new NetworkStream(tcp, ownsSocket: true);
                    }
                    catch
                    {
                        tcp.Dispose();
                        throw;
                    }
                },
            });
        }

        using var timeout = new CancellationTokenSource(DefaultTimeout);
        try
        {
            if (invoker is null) await socket.ConnectAsync(uri, timeout.Token);
            else await socket.ConnectAsync(uri, invoker, timeout.Token);
        }
        catch (Exception e) when (e is WebSocketException or HttpRequestException)
        {
            var status = socket.HttpStatusCode == 0 ? (HttpStatusCode?)null : socket.HttpStatusCode;
            var retryAfter = socket.HttpResponseHeaders?.FirstOrDefault(h => h.Key.Equals("Retry-After", StringComparison.OrdinalIgnoreCase)).Value?.FirstOrDefault();
            socket.Dispose();
            invoker?.Dispose();
            throw new WsRefusedException(status, e, retryAfter);
        }

        var client = new WsClient(socket, invoker, name ?? "ws");
        if (startReceiving)
        {
            client.StartReceiving();
            if (handshake)
            {
                await client.SendAsync(new { action = "ping" });
                await client.WaitForAsync(f => f.Type == "pong");
            }
        }
        return client;
    }

    /// <summary>Connects expecting the server to refuse the upgrade; returns the HTTP status it answered.</summary>
    public static async Task<HttpStatusCode?> ConnectExpectingRefusalAsync(ParleyServer server, string? token, string? origin = null)
    {
        try
        {
            var client = await ConnectAsync(server, token, origin: origin, handshake: false);
            await client.DisposeAsync();
        }
        catch (WsRefusedException refused)
        {
            return refused.Status;
        }
        throw new Xunit.Sdk.XunitException("The WebSocket upgrade was accepted but should have been refused.");
    }

    public void StartReceiving() => _receiveLoop ??= Task.Run(ReceiveLoopAsync);

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[16 * 1024];
        var message = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    CloseStatus = result.CloseStatus;
                    CloseDescription = result.CloseStatusDescription;
                    try
                    {
                        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                        await _sendLock.WaitAsync(cts.Token);
                        try
                        {
                            await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cts.Token);
                        }
                        finally
                        {
                            _sendLock.Release();
                        }
                    }
                    catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
                    {
                        // The server may already have gone; the close code is what matters.
                    }
                    return;
                }
                message.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage) continue;
                var text = Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length);
                message.SetLength(0);
                var frame = Parse(text);
                lock (_all) _all.Add(frame);
                _incoming.Writer.TryWrite(frame);
            }
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or IOException or OperationCanceledException)
        {
            if (CloseStatus is null) Aborted = true;
        }
        finally
        {
            _incoming.Writer.TryComplete();
            _ended.TrySetResult();
        }
    }

    private static WsFrame Parse(string text)
    {
        try
        {
            var root = JsonDocument.Parse(text).RootElement.Clone();
            var type = root.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "<no type>";
            var data = root.TryGetProperty("data", out var d) ? d : default;
            var cursor = root.TryGetProperty("cursor", out var c) && c.ValueKind != JsonValueKind.Null ? (c.ValueKind == JsonValueKind.String ? c.GetString() : c.GetRawText()) : null;
            return new WsFrame(type, data, cursor, text);
        }
        catch (JsonException)
        {
            return new WsFrame("<not json>", default, null, text);
        }
    }

    public Task SendAsync(object frame) => SendTextAsync(JsonSerializer.Serialize(frame));

    public async Task SendTextAsync(string text)
    {
        await SendBytesAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text);
    }

    public async Task SendBytesAsync(byte[] bytes, WebSocketMessageType type)
    {
        await _sendLock.WaitAsync();
        try
        {
            using var timeout = new CancellationTokenSource(DefaultTimeout);
            await _socket.SendAsync(bytes, type, endOfMessage: true, timeout.Token);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Sends a frame and swallows the failure if the server has closed the socket meanwhile.</summary>
    public async Task<bool> TrySendAsync(object frame)
    {
        try
        {
            await SendAsync(frame);
            return true;
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            return false;
        }
    }

    /// <summary>Waits for the first frame (oldest first, including earlier unclaimed ones) that matches; removes and returns it.</summary>
    public async Task<WsFrame> WaitForAsync(Func<WsFrame, bool> match, TimeSpan? timeout = null, string? what = null)
    {
        await _waitLock.WaitAsync();
        try
        {
            var index = _backlog.FindIndex(f => match(f));
            if (index >= 0)
            {
                var found = _backlog[index];
                _backlog.RemoveAt(index);
                return found;
            }
            using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
            try
            {
                while (await _incoming.Reader.WaitToReadAsync(cts.Token))
                {
                    while (_incoming.Reader.TryRead(out var frame))
                    {
                        if (match(frame)) return frame;
                        _backlog.Add(frame);
                    }
                }
            }
            catch (OperationCanceledException)
            {
                throw new Xunit.Sdk.XunitException($"{Name}: timed out waiting for {what ?? "a matching frame"}. {Describe()}");
            }
            throw new Xunit.Sdk.XunitException($"{Name}: the connection ended (close {(int?)CloseStatus} '{CloseDescription}', aborted {Aborted}) before {what ?? "a matching frame"} arrived. {Describe()}");
        }
        finally
        {
            _waitLock.Release();
        }
    }

    public Task<WsFrame> WaitForTypeAsync(string type, Func<WsFrame, bool>? match = null, TimeSpan? timeout = null) =>
        WaitForAsync(f => f.Type == type && (match is null || match(f)), timeout, $"a '{type}' frame");

    /// <summary>Waits for the <c>message</c> frame of a chat with this content.</summary>
    public Task<WsFrame> WaitForMessageAsync(string chatId, string content, TimeSpan? timeout = null) =>
        WaitForAsync(f => f.Type == "message" && f.Str("chatId") == chatId && f.Str("content") == content, timeout,
            $"message '{content}' in {chatId}");

    public Task<WsFrame> WaitForAckAsync(string clientMessageId, TimeSpan? timeout = null) =>
        WaitForAsync(f => f.Type == "ack" && f.Str("clientMessageId") == clientMessageId, timeout, $"ack for {clientMessageId}");

    public Task<WsFrame> WaitForErrorAsync(TimeSpan? timeout = null) => WaitForTypeAsync("error", null, timeout);

    /// <summary>Waits <paramref name="window"/> and fails if a matching frame arrived (or had arrived unclaimed).</summary>
    public async Task ExpectNothingAsync(Func<WsFrame, bool> match, TimeSpan? window = null, string? what = null)
    {
        await Task.Delay(window ?? DefaultQuietWindow);
        await _waitLock.WaitAsync();
        try
        {
            while (_incoming.Reader.TryRead(out var frame)) _backlog.Add(frame);
            var unexpected = _backlog.FirstOrDefault(match);
            if (unexpected is not null)
            {
                throw new Xunit.Sdk.XunitException($"{Name}: expected no {what ?? "such frame"} but got {unexpected}");
            }
        }
        finally
        {
            _waitLock.Release();
        }
    }

    /// <summary>Waits until the server has closed or dropped the connection.</summary>
    public async Task WaitForEndAsync(TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        if (await Task.WhenAny(Ended, Task.Delay(limit)) != Ended)
        {
            throw new Xunit.Sdk.XunitException($"{Name}: the server did not close the connection within {limit.TotalSeconds} s. {Describe()}");
        }
    }

    /// <summary>Pings and waits for the pong: the connection is open and its frames are being handled.</summary>
    public async Task AssertAliveAsync()
    {
        await SendAsync(new { action = "ping" });
        await WaitForTypeAsync("pong");
    }

    private string Describe()
    {
        var frames = AllFrames;
        var tail = frames.Skip(Math.Max(0, frames.Count - 15)).Select(f => f.ToString());
        return $"Received {frames.Count} frames; the last ones: [{string.Join(", ", tail)}]";
    }

    /// <summary>Closes the connection with a normal close handshake and waits for the server's reply.</summary>
    public async Task CloseAsync()
    {
        if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _sendLock.WaitAsync(cts.Token);
                try
                {
                    await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", cts.Token);
                }
                finally
                {
                    _sendLock.Release();
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
            {
                // Already closing or gone.
            }
        }
        if (_receiveLoop is not null) await Task.WhenAny(Ended, Task.Delay(TimeSpan.FromSeconds(5)));
    }

    public async ValueTask DisposeAsync()
    {
        await CloseAsync();
        _socket.Dispose();
        _invoker?.Dispose();
        if (_receiveLoop is not null) await Task.WhenAny(_receiveLoop, Task.Delay(TimeSpan.FromSeconds(5)));
    }
}
