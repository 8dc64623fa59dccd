using System.Threading.Channels;
using Parley.Server.Configuration;

namespace Parley.Server.Realtime.Bus;

/// <summary>
/// What every bus between nodes shares: the handlers, the outgoing queue (one sender loop, so a
/// node's messages leave in the order they were queued, batched under load), the claims (socket
/// counts per user, written in batches, each waiter released once its claim is stored), and the
/// heartbeat that keeps this node's registration alive and notices nodes that stopped. Subclasses
/// speak to one engine.
/// </summary>
internal abstract class RemoteBus : IClusterBus, IAsyncDisposable
{
    private const int MaxOutgoing = 100_000;
    private const int MaxSendBatch = 256;

    private readonly Dictionary<string, Action<BusMessage>[]> _handlers = [];
    private readonly Channel<Outgoing> _outgoing = Channel.CreateBounded<Outgoing>(new BoundedChannelOptions(MaxOutgoing)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.DropWrite,
    });
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _sockets = [];
    private readonly HashSet<string> _dirty = [];
    private readonly Dictionary<string, TaskCompletionSource> _pending = [];
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _loops = [];
    private HashSet<string> _liveNodes = [];
    private int _stopped;

    protected RemoteBus(string nodeId, ClusterOptions options, TimeProvider clock, ILogger logger)
    {
        NodeId = nodeId;
        Options = options;
        Clock = clock;
        Logger = logger;
    }

    public string NodeId { get; }
    public bool Clustered => true;
    protected ClusterOptions Options { get; }
    protected TimeProvider Clock { get; }
    protected ILogger Logger { get; }
    protected CancellationToken Stopping => _stopping.Token;

    /// <summary>How long a registration lives without a heartbeat.</summary>
    protected TimeSpan Ttl => TimeSpan.FromSeconds(Math.Max(Options.ConnectionTtlSeconds, 2 * Options.HeartbeatSeconds));

    /// <summary>The engine's name, for logs.</summary>
    public abstract string Name { get; }

    public event Action<string>? NodeLeft;
    public event Action? Reconnected;
    public event Action<string>? Lost;

    public void Subscribe(string topic, Action<BusMessage> handler)
    {
        lock (_handlers) _handlers[topic] = [.. _handlers.GetValueOrDefault(topic) ?? [], handler];
    }

    // ---- lifecycle ----------------------------------------------------------------------------

    /// <summary>Subscribes and registers this node; when it returns, messages sent to this node are received.</summary>
    public async Task StartAsync(CancellationToken ct)
    {
        await ConnectAsync(ct).ConfigureAwait(false);
        _liveNodes = await HeartbeatAsync().ConfigureAwait(false);
        _loops.Add(Task.Run(SendLoopAsync, CancellationToken.None));
        _loops.Add(Task.Run(ClaimLoopAsync, CancellationToken.None));
        _loops.Add(Task.Run(HeartbeatLoopAsync, CancellationToken.None));
    }

    /// <summary>Sends what is queued (for a few seconds at most), then leaves: the others forget this
    /// node's users at once instead of when its registration expires.</summary>
    public async Task StopAsync(CancellationToken ct)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1) return;
        _outgoing.Writer.TryComplete();
        try
        {
            await _loops[0].WaitAsync(TimeSpan.FromSeconds(5), ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            // Leaving regardless.
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        _wake.Writer.TryComplete();
        try
        {
            await Task.WhenAll(_loops).WaitAsync(TimeSpan.FromSeconds(5), ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            // Stopping regardless.
        }
        try
        {
            await LeaveAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The registration expires on its own.
            BusLog.SendFailed(Logger, ex, 1);
        }
    }

    public abstract ValueTask DisposeAsync();

    // ---- messages -----------------------------------------------------------------------------

    public void Send(string nodeId, string topic, string body) => Queue(new Outgoing(nodeId, topic, body));

    public void SendToAll(string topic, string body) => Queue(new Outgoing(null, topic, body));

    private void Queue(Outgoing message)
    {
        // After stopping, a message has nowhere to go (the others learn this node left).
        if (Volatile.Read(ref _stopped) == 1) return;
        if (!_outgoing.Writer.TryWrite(message) && Volatile.Read(ref _stopped) == 0) BusLog.QueueFull(Logger, message.Topic);
    }

    private async Task SendLoopAsync()
    {
        var batch = new List<Outgoing>(MaxSendBatch);
        var reader = _outgoing.Reader;
        while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < MaxSendBatch && reader.TryRead(out var message)) batch.Add(message);
            try
            {
                await PublishAsync(batch).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Best effort: commit announcements recover by reading the store, the rest is ephemeral.
                BusLog.SendFailed(Logger, ex, batch.Count);
            }
        }
    }

    /// <summary>Called by the subclass for each wire message received, in arrival order.</summary>
    protected void Dispatch(string wire)
    {
        if (BusChannels.Decode(wire) is not { } message || message.FromNode == NodeId) return;
        Action<BusMessage>[]? handlers;
        lock (_handlers) handlers = _handlers.GetValueOrDefault(message.Topic);
        if (message.Topic == BusChannels.Leaving) ForgetNode(message.FromNode);
        if (handlers is null) return;
        foreach (var handler in handlers)
        {
            try
            {
                handler(message);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                BusLog.HandlerFailed(Logger, ex, message.Topic);
            }
        }
    }

    /// <summary>Called by the subclass after its connection came back: messages may have been lost.</summary>
    protected void OnReconnected()
    {
        MarkAllDirty();
        Reconnected?.Invoke();
    }

    // ---- claims -------------------------------------------------------------------------------

    public ValueTask ClaimAsync(string userId)
    {
        Task? pending = null;
        lock (_gate)
        {
            var count = _sockets.GetValueOrDefault(userId) + 1;
            _sockets[userId] = count;
            if (count == 1)
            {
                _dirty.Add(userId);
                if (!_pending.TryGetValue(userId, out var waiter))
                {
                    _pending[userId] = waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }
                pending = waiter.Task;
            }
            else pending = _pending.GetValueOrDefault(userId)?.Task;
        }
        _wake.Writer.TryWrite(true);
        return pending is null ? ValueTask.CompletedTask : new ValueTask(pending.WaitAsync(TimeSpan.FromSeconds(15)));
    }

    public void Release(string userId)
    {
        lock (_gate)
        {
            var count = _sockets.GetValueOrDefault(userId) - 1;
            if (count > 0)
            {
                _sockets[userId] = count;
                return;
            }
            _sockets.Remove(userId);
            _dirty.Add(userId);
        }
        _wake.Writer.TryWrite(true);
    }

    public ValueTask WaitClaimedAsync(string userId)
    {
        Task? pending;
        lock (_gate) pending = _pending.GetValueOrDefault(userId)?.Task;
        return pending is null ? ValueTask.CompletedTask : new ValueTask(pending.WaitAsync(TimeSpan.FromSeconds(15)));
    }

    /// <summary>The users this node holds sockets of.</summary>
    public string[] LocalUsers()
    {
        lock (_gate) return [.. _sockets.Keys];
    }

    private void MarkAllDirty()
    {
        lock (_gate) _dirty.UnionWith(_sockets.Keys);
        _wake.Writer.TryWrite(true);
    }

    /// <summary>Writes changed claims, many users per round trip, until stopped.</summary>
    private async Task ClaimLoopAsync()
    {
        try
        {
            while (await _wake.Reader.WaitToReadAsync(Stopping).ConfigureAwait(false))
            {
                _wake.Reader.TryRead(out _);
                string[] users;
                bool[] held;
                TaskCompletionSource?[] waiters;
                lock (_gate)
                {
                    users = [.. _dirty];
                    _dirty.Clear();
                    held = users.Select(u => _sockets.ContainsKey(u)).ToArray();
                    waiters = users.Select(u => _pending.GetValueOrDefault(u)).ToArray();
                }
                if (users.Length == 0) continue;
                try
                {
                    await WriteClaimsAsync(users, held).ConfigureAwait(false);
                    lock (_gate)
                    {
                        for (var i = 0; i < users.Length; i++)
                        {
                            if (waiters[i] is { } waiter && _pending.GetValueOrDefault(users[i]) == waiter) _pending.Remove(users[i]);
                        }
                    }
                    foreach (var waiter in waiters) waiter?.TrySetResult();
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Waiters keep waiting (they give up after a while if the engine stays away); retry soon.
                    BusLog.ClaimsFailed(Logger, ex);
                    lock (_gate) _dirty.UnionWith(users);
                    await Task.Delay(TimeSpan.FromMilliseconds(500), Clock, Stopping).ConfigureAwait(false);
                    _wake.Writer.TryWrite(true);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    // ---- heartbeat ----------------------------------------------------------------------------

    private async Task HeartbeatLoopAsync()
    {
        var lastOk = Clock.GetUtcNow();
        var lost = false;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, Options.HeartbeatSeconds)), Clock);
        try
        {
            while (await timer.WaitForNextTickAsync(Stopping).ConfigureAwait(false))
            {
                try
                {
                    var live = await HeartbeatAsync().ConfigureAwait(false);
                    lastOk = Clock.GetUtcNow();
                    if (lost)
                    {
                        // Back after an outage: the claims may have expired, so write them all again.
                        lost = false;
                        MarkAllDirty();
                    }
                    HashSet<string> gone;
                    lock (_gate)
                    {
                        gone = [.. _liveNodes.Where(n => !live.Contains(n))];
                        _liveNodes = live;
                    }
                    foreach (var node in gone)
                    {
                        BusLog.NodeGone(Logger, node);
                        NodeLeft?.Invoke(node);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    BusLog.HeartbeatFailed(Logger, ex);
                    if (!lost && Clock.GetUtcNow() - lastOk > Ttl - TimeSpan.FromSeconds(Options.HeartbeatSeconds))
                    {
                        lost = true;
                        Lost?.Invoke("the cluster bus did not answer heartbeats");
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>A node said it is leaving: forget it now (even one that joined since the last
    /// heartbeat), rather than when its registration expires.</summary>
    private void ForgetNode(string nodeId)
    {
        lock (_gate) _liveNodes.Remove(nodeId);
        NodeLeft?.Invoke(nodeId);
    }

    // ---- the engine ---------------------------------------------------------------------------

    /// <summary>Subscribes to this node's channel and the all-nodes channel, and registers this node
    /// (so it is found by <see cref="LocateAsync"/> from now on).</summary>
    protected abstract Task ConnectAsync(CancellationToken ct);

    /// <summary>Publishes messages, in order.</summary>
    protected abstract Task PublishAsync(IReadOnlyList<Outgoing> batch);

    /// <summary>Stores (or removes, where <paramref name="held"/> is false) this node's claims.</summary>
    protected abstract Task WriteClaimsAsync(string[] users, bool[] held);

    /// <summary>Renews this node's registration and claims; returns the other live nodes.</summary>
    protected abstract Task<HashSet<string>> HeartbeatAsync();

    /// <summary>Removes this node's registration and claims and tells the others.</summary>
    protected abstract Task LeaveAsync();

    /// <summary>After stopping there is no one left to tell: empty, without touching the engine.</summary>
    public Task<IReadOnlyDictionary<string, string[]>> LocateAsync(IReadOnlyCollection<string> userIds) =>
        Volatile.Read(ref _stopped) == 1 ? Task.FromResult<IReadOnlyDictionary<string, string[]>>(new Dictionary<string, string[]>()) : LocateCoreAsync(userIds);

    public Task<IReadOnlyList<(string NodeId, string UserId)>> ClaimsElsewhereAsync() =>
        Volatile.Read(ref _stopped) == 1 ? Task.FromResult<IReadOnlyList<(string, string)>>([]) : ClaimsElsewhereCoreAsync();

    protected abstract Task<IReadOnlyDictionary<string, string[]>> LocateCoreAsync(IReadOnlyCollection<string> userIds);

    protected abstract Task<IReadOnlyList<(string NodeId, string UserId)>> ClaimsElsewhereCoreAsync();

    /// <summary>A queued message: to one node, or to all (<see cref="Node"/> null).</summary>
    protected internal readonly record struct Outgoing(string? Node, string Topic, string Body)
    {
        public string Wire(string fromNode) => BusChannels.Encode(Topic, fromNode, Body);
    }
}
