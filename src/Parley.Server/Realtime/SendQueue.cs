using System.Threading.Tasks.Sources;

namespace Parley.Server.Realtime;

/// <summary>
/// A connection's outbound frames, read by its one writer. An event is refused once the queue
/// holds <c>capacity</c> frames (the consumer is too slow); an answer to the client's own frame is
/// never refused for room, because the connection already bounds how many it has outstanding.
/// An idle connection holds this object, an empty queue and one reusable wait: a general-purpose
/// channel would also keep its preallocated reader and writer operations and a cancellation
/// registration per socket.
/// </summary>
internal sealed class SendQueue(int capacity) : IValueTaskSource<bool>
{
    private readonly Queue<OutboundFrame> _frames = new();
    private bool _completed;
    /// <summary>True while the writer waits; whoever adds a frame or completes the queue wakes it.</summary>
    private bool _waiting;
    private ManualResetValueTaskSourceCore<bool> _wake = new() { RunContinuationsAsynchronously = true };

    private object Gate => _frames;

    /// <summary>Adds a frame; false when the queue is completed, or (for an event) full.</summary>
    public bool TryWrite(OutboundFrame frame)
    {
        lock (Gate)
        {
            if (_completed || (!frame.IsReply && _frames.Count >= capacity)) return false;
            _frames.Enqueue(frame);
            if (!_waiting) return true;
            _waiting = false;
        }
        _wake.SetResult(true);
        return true;
    }

    /// <summary>No frames after this; the writer still gets the ones already queued.</summary>
    public void Complete()
    {
        lock (Gate)
        {
            if (_completed) return;
            _completed = true;
            if (!_waiting) return;
            _waiting = false;
        }
        _wake.SetResult(false);
    }

    public bool TryRead(out OutboundFrame frame)
    {
        lock (Gate)
        {
            return _frames.TryDequeue(out frame!);
        }
    }

    /// <summary>True once a frame is there to read; false once the queue is completed and empty.
    /// For the single writer only, and one wait at a time.</summary>
    public ValueTask<bool> WaitToReadAsync()
    {
        lock (Gate)
        {
            if (_frames.Count > 0) return new ValueTask<bool>(true);
            if (_completed) return new ValueTask<bool>(false);
            _wake.Reset();
            _waiting = true;
            return new ValueTask<bool>(this, _wake.Version);
        }
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _wake.GetResult(token);
    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _wake.GetStatus(token);
    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _wake.OnCompleted(continuation, state, token, flags);
}
