namespace Parley.Server.Realtime;

/// <summary>
/// A connection's outbound frames and the state of the one writer that sends them. An event is
/// refused once the queue holds <c>capacity</c> frames (the consumer is too slow); an answer to the
/// client's own frame is never refused for room, because the connection already bounds how many it
/// has outstanding.
/// <para>The writer runs only while there is something to send: whoever queues a frame into an
/// empty queue (or completes it) while the writer is paused is told to start it again. An idle
/// connection therefore holds no waiting writer, only this object and an empty queue.</para>
/// </summary>
internal sealed class SendQueue(int capacity)
{
    private readonly Queue<OutboundFrame> _frames = new();
    private bool _completed;
    private WriterState _writer;

    private enum WriterState : byte
    {
        /// <summary>Frames wait until <see cref="Start"/> (the resume backlog goes first).</summary>
        NotStarted,
        /// <summary>No writer runs; the next frame or <see cref="Complete"/> wakes one.</summary>
        Paused,
        /// <summary>A writer runs (or has been woken) and will see every frame queued meanwhile.</summary>
        Running,
    }

    private object Gate => _frames;

    /// <summary>Adds a frame; <see cref="Written.Refused"/> when the queue is completed, or (for an
    /// event) full; <see cref="Written.WakeWriter"/> when the caller must start the writer.</summary>
    public Written TryWrite(OutboundFrame frame)
    {
        lock (Gate)
        {
            if (_completed || (!frame.IsReply && _frames.Count >= capacity)) return Written.Refused;
            _frames.Enqueue(frame);
            return Wake() ? Written.WakeWriter : Written.Queued;
        }
    }

    /// <summary>No frames after this; the writer still gets the ones already queued. True when the
    /// caller must start the writer (so that it sends them and ends).</summary>
    public bool Complete()
    {
        lock (Gate)
        {
            if (_completed) return false;
            _completed = true;
            return Wake();
        }
    }

    /// <summary>Lets the writer run for the first time; the caller starts it.</summary>
    public void Start()
    {
        lock (Gate) _writer = WriterState.Running;
    }

    /// <summary>True once <see cref="Start"/> has let the writer run.</summary>
    public bool Started
    {
        get
        {
            lock (Gate) return _writer != WriterState.NotStarted;
        }
    }

    public bool TryRead(out OutboundFrame frame)
    {
        lock (Gate)
        {
            return _frames.TryDequeue(out frame!);
        }
    }

    /// <summary>The writer found the queue empty: it pauses unless a frame came in the meantime
    /// (<see cref="AfterEmpty.Continue"/>) or the queue is completed (<see cref="AfterEmpty.End"/>,
    /// after which no one wakes a writer again).</summary>
    public AfterEmpty Pause()
    {
        lock (Gate)
        {
            if (_frames.Count > 0) return AfterEmpty.Continue;
            if (_completed) return AfterEmpty.End;
            _writer = WriterState.Paused;
            return AfterEmpty.Paused;
        }
    }

    /// <summary>Called under the gate: true (and the writer counted as running) when it was paused.</summary>
    private bool Wake()
    {
        if (_writer != WriterState.Paused) return false;
        _writer = WriterState.Running;
        return true;
    }

    public enum Written : byte { Refused, Queued, WakeWriter }

    public enum AfterEmpty : byte { Continue, Paused, End }
}
