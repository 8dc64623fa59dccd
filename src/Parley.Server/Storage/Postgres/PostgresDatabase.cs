using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Npgsql;
using Parley.Server.Configuration;

namespace Parley.Server.Storage.Postgres;

/// <summary>
/// The PostgreSQL database: one pooled <see cref="NpgsqlDataSource"/> for reads, and one writer per
/// node fed by a queue. Writes queued while a transaction runs are committed together in the next
/// one (group commit), each in its own savepoint, so durable throughput is not capped by one
/// commit per write; statements go out in pipelined batches to keep round trips per write low.
/// <para>
/// A batch that creates events first locks its writer's own row of <c>stream</c> (its
/// <see cref="WriterLease"/>), takes each event's position from the <c>stream_positions</c>
/// sequence in the statement that locks the event's chat row, and raises its row's <c>pos</c> to
/// the highest position it took in the commit's round trip. One writer's batches run one after
/// another, so its positions commit in order; other writers run beside it, and nothing orders
/// their commits against each other but the chat rows they share.
/// </para>
/// <para>
/// A node runs <c>Parley:Storage:Writers</c> writers (lanes), each with its own queue, connection
/// and row: one PostgreSQL connection executes one statement at a time, so a single writer keeps
/// one database core busy at most. Sends go to the lane of their chat (so a chat's sends keep their
/// order), everything else to the first lane. Their events are published in an order that keeps
/// each lane's positions in order and each chat's events in order (<see cref="PublishInOrder"/>).
/// </para>
/// </summary>
internal sealed class PostgresDatabase : IAsyncDisposable
{
    private const int MaxBatch = 256;
    private const int MaxSavepoints = 48;

    private readonly Lane[] _lanes;
    private readonly Lock _publishGate = new();
    private readonly IEventPublisher _publisher;
    private readonly ILogger _logger;
    private bool _opened;

    private readonly Blobs.IBlobStore _blobs;
    private static readonly TimeSpan IdleRenewal = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan BusyRenewal = TimeSpan.FromSeconds(10);

    public PostgresDatabase(IOptions<ParleyOptions> options, IEventPublisher publisher, Blobs.IBlobStore blobs, ILogger<PostgresDatabase> logger)
    {
        _blobs = blobs;
        var connectionString = options.Value.Storage.ConnectionString;
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException("Parley:Storage:ConnectionString is required for the Postgres provider " +
                "(for example Host=localhost;Database=parley;Username=parley;Password=...).");
        }
        var writers = options.Value.Storage.Writers;
        if (writers is < 1 or > StorageOptions.MaxWriters)
        {
            throw new InvalidOperationException($"Parley:Storage:Writers must be between 1 and {StorageOptions.MaxWriters} (it is {writers}).");
        }
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        var settings = builder.ConnectionStringBuilder;
        if (settings.MaxAutoPrepare == 0) settings.MaxAutoPrepare = 64;
        if (string.IsNullOrEmpty(settings.ApplicationName)) settings.ApplicationName = "parley";
        DataSource = builder.Build();
        _lanes = Enumerable.Range(0, writers)
            .Select(_ => new Lane(new WriterLease(DataSource))).ToArray();
        _publisher = publisher;
        _logger = logger;
    }

    public NpgsqlDataSource DataSource { get; }

    /// <summary>One writer of this node: its queue, its row of the event stream, its loop.</summary>
    private sealed class Lane(WriterLease lease)
    {
        public Channel<WriteOperation> Queue { get; } = Channel.CreateUnbounded<WriteOperation>(new UnboundedChannelOptions { SingleReader = true });
        public WriterLease Lease { get; } = lease;
        /// <summary>When the lease was last renewed (a commit with events renews it too).</summary>
        public long RenewedAt;
        public Task? Loop { get; set; }
        /// <summary>Committed events not yet published (see <see cref="PublishInOrder"/>).</summary>
        public Queue<StoredEvent> Unpublished { get; } = new();
        /// <summary>Every position of the lane's writer up to here has been published.</summary>
        public long Published { get; set; }
        /// <summary>The highest position the lane's committed batches took.</summary>
        public long Committed { get; set; }
    }

    /// <summary>Where this node's <paramref name="writer"/> started (see <see cref="WriterLease.StartOf"/>).</summary>
    public (long Pos, bool Fresh) WriterStart(int writer)
    {
        foreach (var lane in _lanes)
        {
            if (lane.Lease.TryStartOf(writer, out var start)) return start;
        }
        return default;
    }

    public async Task OpenAsync(CancellationToken ct)
    {
        if (_opened) return;
        _opened = true;
        await using (var connection = await DataSource.OpenConnectionAsync(ct).ConfigureAwait(false))
        {
            await PostgresMigrations.ApplyAsync(connection, _blobs, ct).ConfigureAwait(false);
        }
        foreach (var lane in _lanes)
        {
            Took(lane, await lane.Lease.AcquireAsync(ct).ConfigureAwait(false));
            lane.Loop = Task.Run(() => RunWriter(lane), CancellationToken.None);
        }
    }

    /// <summary>Runs <paramref name="work"/> in the writer's transaction. Its events are published
    /// after the commit, in position order. <paramref name="createsEvents"/> says whether the work may
    /// take positions (and so needs the writer's row).</summary>
    public Task<T> WriteAsync<T>(bool createsEvents, Func<PgWrite, Task<(T Value, StoredEvent[] Events)>> work, PipelineStep<T>? step = null)
    {
        var operation = new WriteOperation<T>(createsEvents, work, step);
        // A send goes to its chat's lane, so the sends into one chat keep their order.
        var lane = step?.ChatKey is { } chat ? _lanes[(int)((uint)chat.GetHashCode() % (uint)_lanes.Length)] : _lanes[0];
        if (!lane.Queue.Writer.TryWrite(operation)) throw new InvalidOperationException("The store is shutting down.");
        return operation.Task;
    }

    public Task WriteAsync(Func<PgWrite, Task> work) => WriteAsync(false, async w =>
    {
        await work(w).ConfigureAwait(false);
        return (Value: true, Events: Array.Empty<StoredEvent>());
    });

    public async Task<T> ReadConnectionAsync<T>(Func<NpgsqlConnection, Task<T>> read)
    {
        await using var connection = await DataSource.OpenConnectionAsync().ConfigureAwait(false);
        return await read(connection).ConfigureAwait(false);
    }

    /// <summary>Reads on a pooled connection through the same query surface writes use.</summary>
    public async Task<T> ReadAsync<T>(Func<IPgSession, Task<T>> read)
    {
        await using var connection = await DataSource.OpenConnectionAsync().ConfigureAwait(false);
        return await read(new PgRead(connection)).ConfigureAwait(false);
    }

    private async Task RunWriter(Lane lane)
    {
        var batch = new List<WriteOperation>(MaxBatch);
        Task<bool>? waiting = null;
        while (true)
        {
            // Idle for a second: renew the lease and raise the writer's row, so an idle node does
            // not hold the other nodes' cursors back.
            waiting ??= lane.Queue.Reader.WaitToReadAsync().AsTask();
            if (!waiting.IsCompleted && await Task.WhenAny(waiting, Task.Delay(IdleRenewal)).ConfigureAwait(false) != waiting)
            {
                await RenewLeaseAsync(lane).ConfigureAwait(false);
                continue;
            }
            var more = await waiting.ConfigureAwait(false);
            waiting = null;
            if (!more) break;
            if (Environment.TickCount64 - Interlocked.Read(ref lane.RenewedAt) > BusyRenewal.TotalMilliseconds) await RenewLeaseAsync(lane).ConfigureAwait(false);
            batch.Clear();
            // Operations that need a savepoint are capped per transaction: past 64 subtransactions
            // PostgreSQL's snapshots of other sessions overflow to a slower path.
            var savepoints = 0;
            while (batch.Count < MaxBatch && savepoints < MaxSavepoints && lane.Queue.Reader.TryRead(out var operation))
            {
                batch.Add(operation);
                if (!operation.HasStep) savepoints++;
            }
            var began = Stopwatch.GetTimestamp();
            foreach (var operation in batch) StoreInstruments.OperationWaited(operation.QueuedAt, began);
            LockChatsInOrder(batch);
            try
            {
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        try
                        {
                            await RunBatchAsync(lane, batch, pipelined: true).ConfigureAwait(false);
                        }
                        catch (PipelineFailedException)
                        {
                            // A pipelined statement failed and took the transaction with it: run the batch
                            // again one operation at a time, each in its own savepoint.
                            await RunBatchAsync(lane, batch, pipelined: false).ConfigureAwait(false);
                        }
                        break;
                    }
                    catch (Exception ex) when (attempt < MaxRetries && IsDeadlock(ex))
                    {
                        // Another node's writer locked some of the same chats in another order and
                        // PostgreSQL chose this transaction to fail: the other one goes ahead, this
                        // batch runs again.
                    }
                    catch (WriterLostException) when (attempt < MaxRetries)
                    {
                        // This node stalled past its lease and another took its row: nothing was
                        // written; take a row again and run the batch under it.
                        await TakeNewWriterAsync(lane).ConfigureAwait(false);
                    }
                }
            }
            catch (Exception ex)
            {
                StorageLog.WriteBatchFailed(_logger, ex, batch.Count);
                foreach (var operation in batch) operation.Fail(ex);
            }
        }
    }

    private const int MaxRetries = 5;

    private static bool IsDeadlock(Exception ex) =>
        ex is PostgresException { SqlState: PostgresErrorCodes.DeadlockDetected } || ex.InnerException is PostgresException { SqlState: PostgresErrorCodes.DeadlockDetected };

    /// <summary>Orders each run of sends by chat (keeping the order of sends into the same chat):
    /// two nodes' batches then lock the chat rows they share in the same order, and do not
    /// deadlock. Sends into different chats may be stored in any order.</summary>
    private static void LockChatsInOrder(List<WriteOperation> batch)
    {
        for (var start = 0; start < batch.Count;)
        {
            var end = start;
            while (end < batch.Count && batch[end].HasStep) end++;
            if (end - start > 1)
            {
                var sorted = batch.GetRange(start, end - start).OrderBy(o => o.ChatKey, StringComparer.Ordinal).ToList();
                for (var i = 0; i < sorted.Count; i++) batch[start + i] = sorted[i];
            }
            start = end + 1;
        }
    }

    private async Task RenewLeaseAsync(Lane lane)
    {
        try
        {
            if (await lane.Lease.RenewIdleAsync(releaseExpired: lane == _lanes[0]).ConfigureAwait(false))
            {
                Interlocked.Exchange(ref lane.RenewedAt, Environment.TickCount64);
            }
            else await TakeNewWriterAsync(lane).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            // The database is unreachable for now: the next round tries again.
            StorageLog.LeaseRenewalFailed(_logger, ex);
        }
    }

    /// <summary>A lane holds a writer row anew: the writer's positions up to <paramref name="settled"/>
    /// are all committed and published (by its last holder), so another lane's event whose chat's
    /// event before it lies there does not wait for this lane (see <see cref="PublishInOrder"/>).</summary>
    private void Took(Lane lane, long settled)
    {
        Interlocked.Exchange(ref lane.RenewedAt, Environment.TickCount64);
        lock (_publishGate)
        {
            lane.Published = settled;
            lane.Committed = Math.Max(lane.Committed, settled);
        }
    }

    private async Task TakeNewWriterAsync(Lane lane)
    {
        try
        {
            Took(lane, await lane.Lease.AcquireAsync().ConfigureAwait(false));
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            StorageLog.LeaseRenewalFailed(_logger, ex);
        }
    }

    private async Task RunBatchAsync(Lane lane, List<WriteOperation> batch, bool pipelined)
    {
        var started = StoreInstruments.BatchStarting();
        await using var connection = await DataSource.OpenConnectionAsync().ConfigureAwait(false);
        var withEvents = batch.Exists(o => o.CreatesEvents);
        var writer = lane.Lease.Writer;
        await using (var begin = new NpgsqlBatch(connection))
        {
            begin.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN"));
            if (withEvents) begin.BatchCommands.Add(PgCommands.BatchCommand("SELECT pos FROM stream WHERE id = $1 AND owner = $2 FOR UPDATE", writer, lane.Lease.Owner));
            await using var reader = await begin.ExecuteReaderAsync().ConfigureAwait(false);
            if (withEvents && !await reader.ReadAsync().ConfigureAwait(false))
            {
                await reader.DisposeAsync().ConfigureAwait(false);
                await connection.ExecuteAsync("ROLLBACK").ConfigureAwait(false);
                throw new WriterLostException(writer);
            }
        }
        var context = new PgWrite(connection, writer);
        var events = new List<StoredEvent>();
        var committed = false;
        try
        {
            for (var i = 0; i < batch.Count; i++)
            {
                var operation = batch[i];
                if (pipelined && operation.HasStep)
                {
                    // Consecutive one-statement operations (sends) go out in one round trip, without
                    // savepoints: statements run in order, each seeing the ones before it, so this
                    // is the same as running them one by one. A failure aborts the transaction and
                    // the whole batch is run again the careful way.
                    var run = 1;
                    while (i + run < batch.Count && run < MaxPipeline && batch[i + run].HasStep) run++;
                    events.AddRange(await RunPipelineAsync(context, batch.GetRange(i, run)).ConfigureAwait(false));
                    i += run - 1;
                    continue;
                }
                // A savepoint per operation: one failing write rolls back alone and fails alone. The
                // SAVEPOINT and the previous RELEASE travel with the operation's first statement.
                context.BeginOperation(operation.CreatesEvents);
                var opEvents = await operation.ExecuteAsync(context).ConfigureAwait(false);
                // A deadlock fails the whole batch (and it runs again), not just this operation.
                if (opEvents is null && operation.Error is { } error && IsDeadlock(error)) throw operation.Error;
                if (opEvents is not null)
                {
                    context.EndOperation();
                    events.AddRange(opEvents);
                }
                else
                {
                    await context.RollBackOperationAsync().ConfigureAwait(false);
                }
            }
            var high = context.High;
            await using (var commit = new NpgsqlBatch(connection))
            {
                foreach (var sql in context.TakePending()) commit.BatchCommands.Add(new NpgsqlBatchCommand(sql));
                if (high > 0)
                {
                    commit.BatchCommands.Add(PgCommands.BatchCommand(
                        "UPDATE stream SET pos = greatest(pos, $1), lease_until = now() + make_interval(secs => $3) WHERE id = $2",
                        high, writer, WriterLease.LeaseSeconds));
                }
                commit.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
                await commit.ExecuteNonQueryAsync().ConfigureAwait(false);
            }
            committed = true;
            StoreInstruments.BatchCommitted(started, batch.Count);
            // Handed on here, on the writer's own task, at once (the SQLite writer hands over to a loop of its own).
            StoreInstruments.HandingOver(Stopwatch.GetTimestamp());
            if (high > 0)
            {
                Interlocked.Exchange(ref lane.RenewedAt, Environment.TickCount64);
                events.Sort((a, b) => a.Pos.CompareTo(b.Pos));
                PublishInOrder(lane, events, high);
            }
        }
        catch
        {
            if (!committed)
            {
                try { await connection.ExecuteAsync("ROLLBACK").ConfigureAwait(false); } catch (NpgsqlException) { /* connection gone */ }
            }
            throw;
        }
        foreach (var operation in batch) operation.Complete();
    }

    /// <summary>
    /// Publishes a lane's committed events: each lane's in position order, and an event whose chat's
    /// event before it was stored by another lane of this node only once that one is published, so
    /// the fan-out sees each chat in order (a lane may finish its commit a moment after another lane
    /// committed later into the same chat). Under one lock for all lanes; publishing only enqueues.
    /// </summary>
    private void PublishInOrder(Lane lane, List<StoredEvent> events, long high)
    {
        lock (_publishGate)
        {
            foreach (var e in events) lane.Unpublished.Enqueue(e);
            lane.Committed = Math.Max(lane.Committed, high);
            bool moved;
            do
            {
                moved = false;
                foreach (var each in _lanes)
                {
                    while (each.Unpublished.TryPeek(out var e))
                    {
                        if (AwaitsOtherLane(e))
                        {
                            // Positions before it are settled; it waits for the chat's event before it.
                            each.Published = Math.Max(each.Published, e.Pos - 1);
                            break;
                        }
                        each.Unpublished.Dequeue();
                        Publish(e);
                        each.Published = e.Pos;
                        moved = true;
                    }
                    if (each.Unpublished.Count == 0 && each.Published < each.Committed)
                    {
                        each.Published = each.Committed;
                        moved = true;
                    }
                }
            }
            while (moved);
        }
    }

    /// <summary>Whether the chat's event before <paramref name="e"/> belongs to another lane of this
    /// node and is not published yet.</summary>
    private bool AwaitsOtherLane(StoredEvent e)
    {
        if (e.PrevWriter is not { } writer || writer == e.Writer) return false;
        foreach (var lane in _lanes)
        {
            if (lane.Lease.Writer == writer) return lane.Published < e.PrevPos;
        }
        return false;
    }

    private void Publish(StoredEvent e)
    {
        try
        {
            _publisher.Publish(e);
        }
        catch (Exception ex)
        {
            // The write is durable; a failed publish only delays live delivery (clients resume from the store).
            StorageLog.PublishFailed(_logger, ex);
        }
    }

    private const int MaxPipeline = 64;

    private static async Task<List<StoredEvent>> RunPipelineAsync(PgWrite context, List<WriteOperation> run)
    {
        var events = new List<StoredEvent>();
        await using var batch = new NpgsqlBatch(context.Connection);
        foreach (var sql in context.TakePending()) batch.BatchCommands.Add(new NpgsqlBatchCommand(sql));
        foreach (var operation in run)
        {
            context.BeginPipelined(operation.CreatesEvents);
            batch.BatchCommands.Add(operation.BuildStep(context));
        }
        try
        {
            await using var reader = await batch.ExecuteReaderAsync().ConfigureAwait(false);
            // Statements without a result set (the pending RELEASE) are skipped by the reader.
            for (var i = 0; i < run.Count; i++)
            {
                if (i > 0) await reader.NextResultAsync().ConfigureAwait(false);
                events.AddRange(run[i].ReadStep(reader));
            }
        }
        catch (Exception ex) when (ex is PostgresException or InvalidOperationException or InvalidCastException)
        {
            throw new PipelineFailedException(ex);
        }
        return events;
    }

    private sealed class PipelineFailedException(Exception inner) : Exception("A pipelined statement failed.", inner);

    public async ValueTask DisposeAsync()
    {
        foreach (var lane in _lanes) lane.Queue.Writer.TryComplete();
        foreach (var lane in _lanes)
        {
            if (lane.Loop is null) continue;
            await lane.Loop.ConfigureAwait(false);
            try
            {
                await lane.Lease.ReleaseAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                // Its lease runs out by itself.
                StorageLog.LeaseRenewalFailed(_logger, ex);
            }
        }
        await DataSource.DisposeAsync().ConfigureAwait(false);
    }

    private abstract class WriteOperation(bool createsEvents, string? chatKey)
    {
        public bool CreatesEvents { get; } = createsEvents;
        /// <summary>When the operation was queued for its lane's writer.</summary>
        public long QueuedAt { get; } = Stopwatch.GetTimestamp();
        /// <summary>The chat a one-statement operation locks (see <see cref="LockChatsInOrder"/>).</summary>
        public string? ChatKey { get; } = chatKey;
        /// <summary>What the last run of the work threw, if it did.</summary>
        public abstract Exception? Error { get; }
        public abstract bool HasStep { get; }
        public abstract NpgsqlBatchCommand BuildStep(PgWrite context);
        /// <summary>Reads the step's result set; returns its events.</summary>
        public abstract StoredEvent[] ReadStep(NpgsqlDataReader reader);
        /// <summary>Runs the work; its events, or null when it threw (the caller rolls its savepoint back).</summary>
        public abstract Task<StoredEvent[]?> ExecuteAsync(PgWrite context);
        public abstract void Complete();
        public abstract void Fail(Exception ex);
    }

    private sealed class WriteOperation<T>(bool createsEvents, Func<PgWrite, Task<(T Value, StoredEvent[] Events)>> work, PipelineStep<T>? step)
        : WriteOperation(createsEvents, step?.ChatKey)
    {
        public override Exception? Error => _error;

        private object? _state;

        public override bool HasStep => step is not null;

        public override NpgsqlBatchCommand BuildStep(PgWrite context)
        {
            var (command, state) = step!.Build(context);
            _state = state;
            return command;
        }

        public override StoredEvent[] ReadStep(NpgsqlDataReader reader)
        {
            var (value, events) = step!.Read(reader, _state);
            _result = value;
            _error = null;
            return events;
        }

        private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T? _result;
        private Exception? _error;

        public Task<T> Task => _completion.Task;

        public override async Task<StoredEvent[]?> ExecuteAsync(PgWrite context)
        {
            try
            {
                var (value, events) = await work(context).ConfigureAwait(false);
                _result = value;
                _error = null;
                return events;
            }
            catch (Exception ex)
            {
                _error = ex;
                return null;
            }
        }

        public override void Complete()
        {
            if (_error is not null) _completion.TrySetException(_error);
            else _completion.TrySetResult(_result!);
        }

        public override void Fail(Exception ex) => _completion.TrySetException(ex);
    }
}

/// <summary>What a write operation gets: the writer connection inside the open transaction, and
/// the writer whose row the transaction holds.</summary>
internal sealed class PgWrite(NpgsqlConnection connection, int writer) : IPgSession
{
    /// <summary>The assignments of a chat row's <c>UPDATE</c> that take the chat's next event
    /// position from the sequence, for the writer in parameter <paramref name="writer"/>. In the row's
    /// UPDATE the position is taken after the lock (PostgreSQL evaluates it again on the newest row
    /// version if it had to wait), so a chat's events are in position order. The chat's previous
    /// event moves to prev_event_*, so the statement can answer both (<see cref="ChatPosition.Returned"/>).</summary>
    public static string NextEventPosition(string writer) =>
        $"prev_event_pos = last_event_pos, prev_event_writer = last_event_writer, last_event_pos = nextval('stream_positions'), last_event_writer = {writer}";

    /// <summary>Locks the chat row ($1) and takes its next event position for the writer ($2).</summary>
    public static readonly string TakeChatPosition =
        $"UPDATE chats SET {NextEventPosition("$2")} WHERE id = $1 RETURNING {ChatPosition.Returned}";

    private readonly List<string> _pending = [];
    private bool _opCreatesEvents;
    private bool _savepointOpen;

    public NpgsqlConnection Connection { get; } = connection;

    /// <summary>This node's writer: every event this transaction stores carries it.</summary>
    public int Writer { get; } = writer;

    /// <summary>The highest position taken in this transaction (0: none).</summary>
    public long High { get; private set; }

    /// <summary>Records a position a statement took (for the writer's high mark at commit).</summary>
    public void Took(long pos)
    {
        if (!_opCreatesEvents) throw new InvalidOperationException("This write was not queued as one that creates events.");
        High = Math.Max(High, pos);
    }

    /// <summary>Locks the chat and takes its next event position (see <see cref="TakeChatPosition"/>).</summary>
    public async Task<ChatPosition> TakeChatPositionAsync(string chatId)
    {
        var taken = await QueryFirstAsync(r => ChatPosition.Read(r, 0),
            TakeChatPosition, chatId, Writer).ConfigureAwait(false) ?? throw new InvalidOperationException($"Chat {chatId} has no row.");
        Took(taken.Pos);
        return taken;
    }

    /// <summary>A stored event of this writer at <paramref name="at"/>.</summary>
    public StoredEvent Event(ChatPosition at, EventKind kind, string chatId, IReadOnlyList<string> recipients) =>
        new(at.Pos, kind, chatId, recipients) { Writer = Writer, PrevPos = at.PrevPos, PrevWriter = at.PrevWriter };

    internal void BeginOperation(bool createsEvents)
    {
        _opCreatesEvents = createsEvents;
        _savepointOpen = false;
        _pending.Add("SAVEPOINT op");
    }

    /// <summary>Starts an operation that runs as one pipelined statement (no savepoint).</summary>
    internal void BeginPipelined(bool createsEvents) => _opCreatesEvents = createsEvents;

    internal void EndOperation()
    {
        if (_savepointOpen) _pending.Add("RELEASE SAVEPOINT op");
        else _pending.RemoveAt(_pending.Count - 1); // the operation ran no statement
    }

    internal async Task RollBackOperationAsync()
    {
        // Positions taken by the rolled-back work are simply never used (positions need only grow).
        if (!_savepointOpen)
        {
            _pending.RemoveAt(_pending.Count - 1);
            return;
        }
        await using var batch = new NpgsqlBatch(Connection);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("ROLLBACK TO SAVEPOINT op"));
        batch.BatchCommands.Add(new NpgsqlBatchCommand("RELEASE SAVEPOINT op"));
        await batch.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    internal List<string> TakePending()
    {
        var list = new List<string>(_pending);
        _pending.Clear();
        return list;
    }

    private NpgsqlBatch Batch(string sql, object?[] args)
    {
        var batch = new NpgsqlBatch(Connection);
        foreach (var pending in _pending) batch.BatchCommands.Add(new NpgsqlBatchCommand(pending));
        _pending.Clear();
        _savepointOpen = true;
        batch.BatchCommands.Add(PgCommands.BatchCommand(sql, args));
        return batch;
    }

    public async Task<int> ExecuteAsync(string sql, params object?[] args)
    {
        await using var batch = Batch(sql, args);
        await using var reader = await batch.ExecuteReaderAsync().ConfigureAwait(false);
        while (await reader.NextResultAsync().ConfigureAwait(false)) { }
        return batch.BatchCommands[^1].RecordsAffected;
    }

    public async Task<long> ScalarAsync(string sql, params object?[] args)
    {
        var value = await QueryFirstAsync(r => r.IsDBNull(0) ? 0 : Convert.ToInt64(r.GetValue(0), System.Globalization.CultureInfo.InvariantCulture), sql, args)
            .ConfigureAwait(false);
        return value;
    }

    public async Task<T?> QueryFirstAsync<T>(Func<NpgsqlDataReader, T> map, string sql, params object?[] args)
    {
        await using var batch = Batch(sql, args);
        await using var reader = await batch.ExecuteReaderAsync().ConfigureAwait(false);
        return await reader.ReadAsync().ConfigureAwait(false) ? map(reader) : default;
    }

    public async Task<List<T>> QueryAsync<T>(Func<NpgsqlDataReader, T> map, string sql, params object?[] args)
    {
        await using var batch = Batch(sql, args);
        await using var reader = await batch.ExecuteReaderAsync().ConfigureAwait(false);
        var list = new List<T>();
        while (await reader.ReadAsync().ConfigureAwait(false)) list.Add(map(reader));
        return list;
    }
}

/// <summary>The queries a store helper runs, inside the writer's transaction or on a reader connection.</summary>
internal interface IPgSession
{
    Task<int> ExecuteAsync(string sql, params object?[] args);
    Task<long> ScalarAsync(string sql, params object?[] args);
    Task<T?> QueryFirstAsync<T>(Func<NpgsqlDataReader, T> map, string sql, params object?[] args);
    Task<List<T>> QueryAsync<T>(Func<NpgsqlDataReader, T> map, string sql, params object?[] args);
}

internal sealed class PgRead(NpgsqlConnection connection) : IPgSession
{
    public Task<int> ExecuteAsync(string sql, params object?[] args) => connection.ExecuteAsync(sql, args);
    public Task<long> ScalarAsync(string sql, params object?[] args) => connection.ScalarAsync(sql, args);
    public Task<T?> QueryFirstAsync<T>(Func<NpgsqlDataReader, T> map, string sql, params object?[] args) => connection.QueryFirstAsync(map, sql, args);
    public Task<List<T>> QueryAsync<T>(Func<NpgsqlDataReader, T> map, string sql, params object?[] args) => connection.QueryAsync(map, sql, args);
}

/// <summary>An operation that is a single statement, so the writer can pipeline a run of them in one
/// round trip. <see cref="Build"/> may take positions and returns the statement with whatever its
/// <see cref="Read"/> needs; <see cref="Read"/> turns the statement's result set into the value and events.</summary>
internal sealed record PipelineStep<T>(
    Func<PgWrite, (NpgsqlBatchCommand Command, object? State)> Build,
    Func<NpgsqlDataReader, object?, (T Value, StoredEvent[] Events)> Read,
    string? ChatKey = null);

/// <summary>A position taken under a chat's row lock, and the chat's event before it.</summary>
internal sealed record ChatPosition(long Pos, long PrevPos, int? PrevWriter)
{
    /// <summary>What a statement using <see cref="PgWrite.NextEventPosition"/> returns of the chat row.</summary>
    public const string Returned = "last_event_pos, prev_event_pos, prev_event_writer";

    /// <summary>Reads the three columns at <paramref name="o"/> (position, previous position, previous writer).</summary>
    public static ChatPosition Read(NpgsqlDataReader r, int o) => new(r.GetInt64(o), r.GetInt64(o + 1), r.IsDBNull(o + 2) ? null : r.GetInt32(o + 2));
}
