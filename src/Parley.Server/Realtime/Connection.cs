using System.Buffers;
using System.Net.WebSockets;
using Parley.Server.Storage;

namespace Parley.Server.Realtime;

/// <summary>
/// One device's socket. Outbound frames go through a bounded queue drained by a single writer, so
/// a fan-out never waits on a slow network. A consumer that lets its queue fill up is cut off:
/// its events are safe in the store and it resumes with <c>since</c>. Answers to the client's own
/// frames have slots of their own, so a client pipelining requests never crowds out its events; a
/// client may send up to that many frames without waiting for their answers.
/// <para>The writer is a thread-pool work item that runs while the queue has frames and stops when
/// it is empty (see <see cref="SendQueue"/>): an idle socket holds no waiting writer.</para>
/// </summary>
public sealed class Connection : IThreadPoolWorkItem
{
    /// <summary>Answers a client may have outstanding: its sends in flight (stored one writer batch
    /// after another) plus answers it has not read yet. Past this, the reader waits.</summary>
    private const int ReplySlots = 16;
    /// <summary>Stands for a side of the connection that has ended (see <see cref="_readerDone"/>, <see cref="_writerDone"/>).</summary>
    private static readonly TaskCompletionSource Ended = CompletedSource();
    private readonly SemaphoreSlim _replySlots = new(ReplySlots);
    private readonly WebSocket _socket;
    private readonly SendQueue _queue;
    private readonly CancellationTokenSource _closed = new();
    /// <summary>Null while the reader runs and nobody waits for it; <see cref="Ended"/> once it has
    /// ended; otherwise what the closing writer waits on. Made only when needed: most sockets never close
    /// from the server's side.</summary>
    private TaskCompletionSource? _readerDone;
    /// <summary>The same for the writer's end, which the request waits for before it lets the socket go.</summary>
    private TaskCompletionSource? _writerDone;
    /// <summary>What the writer sends before the first queued frame (the resume backlog), once.</summary>
    private Func<Task>? _backlog;
    /// <summary>What this connection has sent of the event stream (its cursor): frames it covers are
    /// skipped. Events of a single-writer store move only the floor, which costs nothing per frame.</summary>
    private SentCursor _sent;
    /// <summary>The last answer in line (see <see cref="ReplyWhenReadyAsync"/>).</summary>
    private Task _answers = Task.CompletedTask;
    /// <summary>Set when the connection ends after its backlog without going live (see <see cref="CloseAfterBacklog"/>).</summary>
    private volatile bool _noLive;

    public Connection(string userId, string? sessionId, WebSocket socket, int queueFrames, FrameBudget frames)
    {
        Frames = frames;
        UserId = userId;
        SessionId = sessionId;
        _socket = socket;
        // Events may use the answers' room while it is free, as they always could.
        _queue = new SendQueue(queueFrames + ReplySlots);
    }

    private string? _id;

    /// <summary>Names the connection in logs and marks the events it sent (so they are not echoed
    /// back to it). Made on first use: most sockets never need one.</summary>
    public string Id
    {
        get
        {
            if (_id is null) Interlocked.CompareExchange(ref _id, Guid.NewGuid().ToString("N"), null);
            return _id;
        }
    }

    /// <summary>True when this connection sent the event (an event names the connection it came from).</summary>
    public bool IsOrigin(string? originConnectionId) => _id is { } id && id == originConnectionId;
    public string UserId { get; }
    /// <summary>The client's frames per second on this socket.</summary>
    public FrameBudget Frames { get; }
    /// <summary>The session whose access token opened the socket, when the token names one.</summary>
    public string? SessionId { get; }
    public CancellationToken Closed => _closed.Token;

    /// <summary>Why the server ended the connection, if it did.</summary>
    public (WebSocketCloseStatus Status, string Reason)? CloseRequest { get; private set; }

    /// <summary>Queues a frame; never blocks. False (and the connection is being closed) when the
    /// client is too slow to keep up.</summary>
    public bool Enqueue(OutboundFrame frame)
    {
        if (Write(frame)) return true;
        // A full queue means a slow consumer; a completed one means the connection is closing anyway.
        if (CloseRequest is null && !_closed.IsCancellationRequested) Abort();
        return false;
    }

    public bool IsClosing => CloseRequest is not null || _closed.IsCancellationRequested;

    /// <summary>Queues an answer to the client's own frame (ack, error, pong). Unlike fan-out, this
    /// waits for room: a client that does not read its answers only slows down its own requests.</summary>
    public ValueTask ReplyAsync(byte[] frame) => ReplyWhenReadyAsync(Task.FromResult<byte[]?>(frame));

    /// <summary>Queues an answer that is still being worked out (a send being stored; null for no
    /// answer). Answers leave in the order of the frames they answer, so a client may pipeline its
    /// sends and still match acks to them in order. Call from the reader only.</summary>
    public async ValueTask ReplyWhenReadyAsync(Task<byte[]?> answer)
    {
        try
        {
            await _replySlots.WaitAsync(_closed.Token);
        }
        catch (OperationCanceledException)
        {
            return; // closing: the answer has nowhere to go
        }
        _answers = QueueAfterAsync(_answers, answer);
    }

    /// <summary>Queues <paramref name="answer"/> once the answers before it are queued. Runs at once
    /// when both are ready, which is the common case.</summary>
    private async Task QueueAfterAsync(Task previous, Task<byte[]?> answer)
    {
        // One answer that failed must not hold back the ones after it.
        await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        // A completed queue (closing) refuses the answer: it has nowhere to go. Answers are never
        // refused for room: the reply slots bound them.
        if (await answer is { } frame) Write(OutboundFrame.Reply(frame));
        else _replySlots.Release();
    }

    /// <summary>Asks the writer to send a close frame after what is queued, then end.</summary>
    public void Close(WebSocketCloseStatus status, string reason)
    {
        CloseRequest ??= (status, reason);
        if (_queue.Complete()) WakeWriter();
    }

    /// <summary>Ends the connection once its backlog is sent, without the live events queued
    /// meanwhile: sending them would move its cursor past events the backlog could not give yet
    /// (held back, see <see cref="SyncPage.HeldBackAt"/>). The client resumes from the backlog's cursor.</summary>
    public void CloseAfterBacklog(WebSocketCloseStatus status, string reason)
    {
        _noLive = true;
        Close(status, reason);
    }

    /// <summary>Drops the connection at once (slow consumer, revoked session).</summary>
    public void Abort()
    {
        if (_queue.Complete()) WakeWriter();
        _closed.Cancel();
        _socket.Abort();
    }

    /// <summary>The reader calls this when the client's side has ended.</summary>
    public void ReaderFinished() => Interlocked.Exchange(ref _readerDone, Ended)?.TrySetResult();

    /// <summary>Marks what the resume backlog delivered (or, without one, what was committed before
    /// the socket opened) so live copies are skipped. Call before the live queue is drained.</summary>
    public void DeliveredUpTo(StreamCursor cursor) => _sent.Reset(cursor);

    public async Task SendNowAsync(ReadOnlyMemory<byte> bytes) =>
        await _socket.SendAsync(bytes, WebSocketMessageType.Text, true, _closed.Token);

    /// <summary>Sends an event's frame with this connection's cursor added (a store with several
    /// writers: each connection's cursor differs), from a pooled buffer.</summary>
    private async ValueTask SendWithCursorAsync(ReadOnlyMemory<byte> frame)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(frame.Length + _sent.ExtraBytes);
        try
        {
            var length = _sent.WriteFrame(frame.Span, buffer);
            await _socket.SendAsync(buffer.AsMemory(0, length), WebSocketMessageType.Text, true, _closed.Token);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Queues a frame, starting the writer if it was paused; false when the queue refuses it.</summary>
    private bool Write(OutboundFrame frame)
    {
        var written = _queue.TryWrite(frame);
        if (written == SendQueue.Written.WakeWriter) WakeWriter();
        return written != SendQueue.Written.Refused;
    }

    /// <summary>Starts the single writer: it sends <paramref name="backlog"/> (when given), then the
    /// queued frames in order, and from then on whatever is queued, until the queue completes.</summary>
    public void StartWriter(Func<Task>? backlog)
    {
        _backlog = backlog;
        _queue.Start();
        WakeWriter();
    }

    /// <summary>Completes once the writer has ended (at once if it never started).</summary>
    public Task WriterEnded() => _queue.Started ? WhenDone(ref _writerDone) : Task.CompletedTask;

    /// <summary>Runs the writer on the pool, after the code that woke it (a fan-out wakes many).</summary>
    private void WakeWriter() => ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: true);

    /// <summary>Only <see cref="WakeWriter"/> queues the connection, and only while no other run of the writer is
    /// under way (<see cref="SendQueue"/> says when), so the writer is single.</summary>
    void IThreadPoolWorkItem.Execute() => _ = WriteAsync();

    /// <summary>The single writer: sends queued frames in order until the queue is empty, then pauses
    /// until woken; once the queue completes, says goodbye and ends. Allocates nothing while every send
    /// completes at once.</summary>
    private async Task WriteAsync()
    {
        Exception? failure = null;
        try
        {
            if (_backlog is { } backlog)
            {
                _backlog = null;
                await backlog();
            }
            while (true)
            {
                while (_queue.TryRead(out var frame))
                {
                    if (frame.IsReply) _replySlots.Release();
                    if (frame.Position != 0 && (_noLive || !_sent.Advance(frame.Writer, frame.Position))) continue;
                    var bytes = frame.Render is null ? frame.Bytes : await frame.Render(UserId);
                    if (bytes is { Length: > 0 } payload)
                    {
                        if (frame.Writer is not null) await SendWithCursorAsync(payload);
                        else await _socket.SendAsync(payload, WebSocketMessageType.Text, true, _closed.Token);
                    }
                }
                var next = _queue.Pause();
                if (next == SendQueue.AfterEmpty.Paused) return;
                if (next == SendQueue.AfterEmpty.End) break;
            }
            if (CloseRequest is { } close && _socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _socket.CloseOutputAsync(close.Status, close.Reason, timeout.Token);
                // Let the reader see the client's answering close frame before anything is torn down.
                await Task.WhenAny(WhenDone(ref _readerDone), Task.Delay(TimeSpan.FromSeconds(5)));
            }
        }
        catch (Exception ex)
        {
            // Nothing more is written: completing the queue refuses new frames and wakes no other
            // writer (this one runs). A gone socket is the reader's to notice and clean up; anything
            // else reaches the request through WriterEnded.
            _queue.Complete();
            if (ex is not (OperationCanceledException or WebSocketException or ObjectDisposedException)) failure = ex;
        }
        _closed.Cancel();
        // The reader waits for the client's next frame without a cancellation token (one fewer
        // registration per idle socket): a client that has not answered the close by now is cut off.
        if (Volatile.Read(ref _readerDone) != Ended) _socket.Abort();
        var waiting = Interlocked.Exchange(ref _writerDone, failure is null ? Ended : FailedSource(failure));
        if (failure is null) waiting?.TrySetResult();
        else waiting?.TrySetException(failure);
    }

    /// <summary>A task that completes when the side that <paramref name="done"/> tracks has ended:
    /// the side's <see cref="Ended"/> if it has, else a source it completes when it does.</summary>
    private static Task WhenDone(ref TaskCompletionSource? done)
    {
        var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return (Interlocked.CompareExchange(ref done, waiting, null) ?? waiting).Task;
    }

    private static TaskCompletionSource FailedSource(Exception failure)
    {
        var source = new TaskCompletionSource();
        source.SetException(failure);
        return source;
    }

    private static TaskCompletionSource CompletedSource()
    {
        var source = new TaskCompletionSource();
        source.SetResult();
        return source;
    }
}
