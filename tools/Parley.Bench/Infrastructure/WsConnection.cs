using System.Buffers.Text;
using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Threading.Channels;

namespace Parley.Bench.Infrastructure;

/// <summary>One client WebSocket of one user: a receive loop that reports every frame to the
/// <see cref="DeliveryTracker"/>, a writer that sends <c>sendMessage</c> frames one at a time (a
/// WebSocket allows one send in flight), the resume cursor of the last event, and optionally an
/// automatic resume with <c>since</c> when the server closes it.</summary>
public sealed class WsConnection : IAsyncDisposable
{
    private readonly ApiClient _api;
    private readonly DeliveryTracker? _tracker;
    private readonly int _messageSize;
    private readonly Lock _pendingGate = new();
    private readonly Dictionary<long, (long Ticks, ChatState Chat)> _pending = new();
    private readonly List<(ChatState Chat, SeqSet Received)> _chats = [];
    /// <summary>Sends whose ack never came (the socket died): if the server stored them, the
    /// user's own copy comes back with <c>since</c> and tells the seq.</summary>
    private readonly Dictionary<long, ChatState> _unknownFate = new();
    private Channel<(ChatState Chat, long Intended)>? _outbox;
    private Task? _writer;
    private volatile ClientWebSocket? _ws;
    private Task? _receiver;
    private byte[] _buffer;
    private byte[] _sendBuffer = [];
    private readonly byte[] _cursor = new byte[128];
    private int _cursorLength;
    private long _nextClientId;
    private volatile bool _closing;
    private TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _lifetime = new();

    public WsConnection(BenchUser user, ApiClient api, DeliveryTracker? tracker, int messageSize = 64, int receiveBuffer = 4096)
    {
        User = user;
        _api = api;
        _tracker = tracker;
        _messageSize = messageSize;
        _buffer = new byte[receiveBuffer];
    }

    public BenchUser User { get; }
    /// <summary>Limits unacknowledged sends in closed-loop mode; released by each ack or error.</summary>
    public SemaphoreSlim? Window { get; private set; }
    /// <summary>Reconnect with <c>since</c> when the server closes or the socket fails.</summary>
    public bool AutoResume { get; set; }
    public bool IsOpen => _ws?.State == WebSocketState.Open;
    public int Resumes { get; private set; }
    public int UnexpectedCloses { get; private set; }
    public string? LastCloseReason { get; private set; }
    public int PendingCount { get { lock (_pendingGate) return _pending.Count; } }

    /// <summary>The cursor of the newest event received (what to resume from).</summary>
    public string? Cursor
    {
        get
        {
            lock (_cursor) return _cursorLength == 0 ? _initialCursor : Encoding.UTF8.GetString(_cursor, 0, _cursorLength);
        }
    }

    private string? _initialCursor;

    /// <summary>Sets the cursor to resume from before any event has arrived (from GET /sync).</summary>
    public void SetInitialCursor(string? cursor) => _initialCursor = cursor;

    /// <summary>Registers a chat whose messages this connection must receive.</summary>
    public void Track(ChatState chat)
    {
        _chats.Add((chat, new SeqSet()));
        lock (chat.Receivers) chat.Receivers.Add(this);
    }

    public SeqSet? ReceivedIn(ChatState chat)
    {
        foreach (var (c, set) in _chats) if (ReferenceEquals(c, chat)) return set;
        return null;
    }

    public void EnableWindow(int window) => Window = new SemaphoreSlim(window, window);

    /// <summary>Opens the socket (with a resume cursor if given) and starts receiving.</summary>
    public async Task ConnectAsync(string? since, CancellationToken ct)
    {
        var ws = new ClientWebSocket();
        ws.Options.KeepAliveInterval = TimeSpan.Zero; // the server pings; the pending receive answers
        ws.Options.CollectHttpResponseDetails = true;
        _api.Authorize(ws, User.AccessToken);
        try
        {
            await ws.ConnectAsync(_api.WebSocketUri(User.AccessToken, since), ct);
        }
        catch (WebSocketException e)
        {
            var status = ws.HttpStatusCode;
            ws.Dispose();
            throw new ConnectException(status, e.Message);
        }
        catch
        {
            ws.Dispose();
            throw;
        }
        _ws = ws;
        _receiver = ReceiveLoopAsync(ws);
        _open.TrySetResult();
    }

    /// <summary>Queues a message to a chat; the writer timestamps it just before sending.</summary>
    public void Enqueue(ChatState chat, long intendedTimestamp)
    {
        if (_outbox is null)
        {
            lock (_pendingGate)
            {
                if (_outbox is null)
                {
                    _outbox = Channel.CreateUnbounded<(ChatState, long)>(new UnboundedChannelOptions { SingleReader = true });
                    _writer = Task.Run(WriteLoopAsync);
                }
            }
        }
        Interlocked.Increment(ref _queued);
        _outbox.Writer.TryWrite((chat, intendedTimestamp));
    }

    private int _queued;

    /// <summary>Messages waiting for the writer (not yet on the wire).</summary>
    public int Queued => Volatile.Read(ref _queued);

    private async Task WriteLoopAsync()
    {
        var reader = _outbox!.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_lifetime.Token))
            {
                while (reader.TryRead(out var item))
                {
                    Interlocked.Decrement(ref _queued);
                    var ws = _ws;
                    if (ws is null || ws.State != WebSocketState.Open)
                    {
                        if (!AutoResume || _closing)
                        {
                            Failed(item.Chat, "socket closed");
                            continue;
                        }
                        await _open.Task.WaitAsync(_lifetime.Token);
                        ws = _ws!;
                    }
                    var n = ++_nextClientId;
                    var now = Stopwatch.GetTimestamp();
                    if (item.Intended > 0) _tracker?.SendLag.RecordTicks(now - item.Intended);
                    var length = WriteFrame(item.Chat, n, now);
                    lock (_pendingGate) _pending[n] = (now, item.Chat);
                    _tracker?.OnSent(now);
                    try
                    {
                        await ws.SendAsync(_sendBuffer.AsMemory(0, length), WebSocketMessageType.Text, true, _lifetime.Token);
                    }
                    catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException)
                    {
                        // The receive loop sees the same failure and settles the pending sends.
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Failed(ChatState chat, string reason)
    {
        _ = chat;
        _tracker?.OnSendError(reason);
        Window?.Release();
    }

    /// <summary>{"action":"sendMessage","chatId":"...","content":"bench:TICKS:xxx","clientMessageId":"bN"}</summary>
    private int WriteFrame(ChatState chat, long n, long ticks)
    {
        var needed = 120 + chat.IdUtf8.Length + _messageSize;
        if (_sendBuffer.Length < needed) _sendBuffer = new byte[needed * 2];
        var span = _sendBuffer.AsSpan();
        var at = 0;
        Append(span, ref at, "{\"action\":\"sendMessage\",\"chatId\":\""u8);
        Append(span, ref at, chat.IdUtf8);
        Append(span, ref at, "\",\"content\":\""u8);
        var contentStart = at;
        Append(span, ref at, Frame.ContentPrefix);
        Utf8Formatter.TryFormat(ticks, span[at..], out var written);
        at += written;
        span[at++] = (byte)':';
        while (at - contentStart < _messageSize) span[at++] = (byte)'x';
        Append(span, ref at, "\",\"clientMessageId\":\"b"u8);
        Utf8Formatter.TryFormat(n, span[at..], out written);
        at += written;
        Append(span, ref at, "\"}"u8);
        return at;
    }

    /// <summary>The content a REST send uses (same shape, so receivers time it the same way).</summary>
    public static string Content(long ticks, int size)
    {
        var s = "bench:" + ticks.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":";
        return s.Length >= size ? s : s + new string('x', size - s.Length);
    }

    private static void Append(Span<byte> span, ref int at, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(span[at..]);
        at += bytes.Length;
    }

    private async Task ReceiveLoopAsync(ClientWebSocket ws)
    {
        var filled = 0;
        try
        {
            while (true)
            {
                if (filled == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
                var result = await ws.ReceiveAsync(_buffer.AsMemory(filled), _lifetime.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    LastCloseReason = $"{(int?)ws.CloseStatus} {ws.CloseStatusDescription}";
                    break;
                }
                filled += result.Count;
                if (!result.EndOfMessage) continue;
                Handle(_buffer.AsSpan(0, filled));
                filled = 0;
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            LastCloseReason ??= e.Message;
        }
        OnClosed(ws);
    }

    private void OnClosed(ClientWebSocket ws)
    {
        if (_closing || !ReferenceEquals(ws, _ws)) return;
        UnexpectedCloses++;
        _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        SettlePending();
        if (AutoResume) _ = ResumeAsync();
    }

    /// <summary>Sends with no ack yet have an unknown fate: count them and free their window slots.</summary>
    private void SettlePending()
    {
        int count;
        lock (_pendingGate)
        {
            count = _pending.Count;
            foreach (var (n, sent) in _pending) _unknownFate[n] = sent.Chat;
            _pending.Clear();
        }
        if (count == 0) return;
        _tracker?.OnUnacked(count);
        Window?.Release(count);
    }

    private async Task ResumeAsync()
    {
        for (var attempt = 0; attempt < 50 && !_closing; attempt++)
        {
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(2000, 50 * (1 << Math.Min(attempt, 5)))), _lifetime.Token);
                await ConnectAsync(Cursor, _lifetime.Token);
                Resumes++;
                return;
            }
            catch (Exception e) when (e is ConnectException or WebSocketException or OperationCanceledException or HttpRequestException)
            {
                if (_lifetime.IsCancellationRequested) return;
            }
        }
    }

    /// <summary>Sends whose ack never came, by client id.</summary>
    public IReadOnlyList<(long N, ChatState Chat)> UnknownFate()
    {
        lock (_pendingGate) return _unknownFate.Select(p => (p.Key, p.Value)).ToList();
    }

    /// <summary>The server has a send whose ack never came (found in the chat's history).</summary>
    public void ResolveUnknown(long n, long seq)
    {
        ChatState? chat;
        lock (_pendingGate)
        {
            if (!_unknownFate.Remove(n, out chat)) return;
        }
        _tracker?.OnUnackedResolved(chat, seq, User);
    }

    private volatile bool _frozen;

    /// <summary>Stops counting: frames arriving from now on are ignored, so the report's numbers
    /// are taken from one consistent moment.</summary>
    public void Freeze() => _frozen = true;

    private void Handle(ReadOnlySpan<byte> json)
    {
        if (_frozen) return;
        if (!Frame.TryParse(json, out var frame))
        {
            _tracker?.OnFrame(FrameType.Other);
            return;
        }
        _tracker?.OnFrame(frame.Type);
        if (frame.HasCursor && frame.Cursor.Length <= _cursor.Length)
        {
            lock (_cursor)
            {
                frame.Cursor.CopyTo(_cursor);
                _cursorLength = frame.Cursor.Length;
            }
        }
        if (_tracker is null) return;
        switch (frame.Type)
        {
            case FrameType.Message:
                if (frame.SenderId.SequenceEqual(User.IdUtf8))
                {
                    _tracker.OnOwnEcho();
                    if (frame.HasSeq && Frame.TryParseClientId(frame.ClientMessageId, out var own))
                    {
                        ChatState? stored;
                        lock (_pendingGate)
                        {
                            if (!_unknownFate.Remove(own, out stored)) stored = null;
                        }
                        if (stored is not null) _tracker.OnUnackedResolved(stored, frame.Seq, User);
                    }
                    return;
                }
                if (!Frame.TryParseBenchContent(frame.Content, out var sendTicks) || !frame.HasSeq) return;
                var set = Find(frame.ChatId);
                if (set is null)
                {
                    _tracker.OnForeign();
                    return;
                }
                _tracker.OnDelivered(set.Add(frame.Seq), sendTicks, Stopwatch.GetTimestamp());
                return;
            case FrameType.Ack:
                if (!Frame.TryParseClientId(frame.ClientMessageId, out var n)) return;
                (long Ticks, ChatState Chat) sent;
                lock (_pendingGate)
                {
                    if (!_pending.Remove(n, out sent)) return;
                }
                _tracker.AckLatency.RecordTicks(Stopwatch.GetTimestamp() - sent.Ticks);
                if (frame.HasSeq) _tracker.OnStored(sent.Chat, frame.Seq, User);
                Window?.Release();
                return;
            case FrameType.Error:
                var reason = frame.Code.Length > 0 ? Encoding.UTF8.GetString(frame.Code) : Encoding.UTF8.GetString(frame.Error);
                if (Frame.TryParseClientId(frame.ClientMessageId, out var failed))
                {
                    lock (_pendingGate)
                    {
                        if (!_pending.Remove(failed)) return;
                    }
                    _tracker.OnSendError(reason);
                    Window?.Release();
                }
                else
                {
                    _tracker.OnSendError("unattributed: " + reason);
                }
                return;
        }
    }

    private SeqSet? Find(ReadOnlySpan<byte> chatId)
    {
        foreach (var (chat, set) in _chats) if (chatId.SequenceEqual(chat.IdUtf8)) return set;
        return null;
    }

    /// <summary>Drops the connection at once, as a lost network would (no close handshake).</summary>
    public void Abort()
    {
        var ws = _ws;
        if (ws is null) return;
        _ws = null;
        _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ws.Abort();
        SettlePending();
    }

    /// <summary>Waits for the receive loop of an aborted socket to finish.</summary>
    public Task Stopped => _receiver ?? Task.CompletedTask;

    /// <summary>Closes politely (close handshake), bounded in time.</summary>
    public async Task CloseAsync(TimeSpan timeout)
    {
        _closing = true;
        var ws = _ws;
        if (ws is null) return;
        try
        {
            using var cts = new CancellationTokenSource(timeout);
            if (ws.State == WebSocketState.Open) await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bench done", cts.Token);
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
        ws.Abort();
    }

    public async ValueTask DisposeAsync()
    {
        _closing = true;
        await _lifetime.CancelAsync();
        _ws?.Abort();
        _ws?.Dispose();
        if (_receiver is not null) await _receiver.ConfigureAwait(false);
        if (_writer is not null) await _writer.ConfigureAwait(false);
        _lifetime.Dispose();
        Window?.Dispose();
    }
}

/// <summary>A WebSocket handshake the server refused (status 401, 429...) or that failed.</summary>
public sealed class ConnectException(HttpStatusCode status, string message) : Exception($"{(int)status} {message}")
{
    public HttpStatusCode Status { get; } = status;
}
