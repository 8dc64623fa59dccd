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
/// A batch that creates events first locks this node's own row of <c>stream</c> (its
/// <see cref="WriterLease"/>), takes each event's position from the <c>stream_positions</c>
/// sequence in the statement that locks the event's chat row, and raises its row's <c>pos</c> to
/// the highest position it took in the commit's round trip. One writer's batches run one after
/// another, so its positions commit in order; other nodes' writers run beside it, and nothing
/// orders their commits against each other but the chat rows they share.
/// </para>
/// </summary>
internal sealed class PostgresDatabase : IAsyncDisposable
{
    private const int MaxBatch = 256;
    private const int MaxSavepoints = 48;

    private readonly Channel<WriteOperation> _queue = Channel.CreateUnbounded<WriteOperation>(
        new UnboundedChannelOptions { SingleReader = true });
    private readonly IEventPublisher _publisher;
    private readonly ILogger _logger;
    private Task? _writerLoop;

    private readonly Blobs.IBlobStore _blobs;
    /// <summary>When the lease was last renewed (a commit with events renews it too).</summary>
    private long _renewedAt;
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
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        var settings = builder.ConnectionStringBuilder;
        if (settings.MaxAutoPrepare == 0) settings.MaxAutoPrepare = 64;
        if (string.IsNullOrEmpty(settings.ApplicationName)) settings.ApplicationName = "parley";
        DataSource = builder.Build();
        Lease = new WriterLease(DataSource);
        _publisher = publisher;
        _logger = logger;
    }

    public NpgsqlDataSource DataSource { get; }

    /// <summary>This node's writer row in the event stream.</summary>
    public WriterLease Lease { get; }

    public async Task OpenAsync(CancellationToken ct)
    {
        if (_writerLoop is not null) return;
        await using (var connection = await DataSource.OpenConnectionAsync(ct).ConfigureAwait(false))
        {
            await PostgresMigrations.ApplyAsync(connection, _blobs, ct).ConfigureAwait(false);
        }
        await Lease.AcquireAsync(ct).ConfigureAwait(false);
        _renewedAt = Environment.TickCount64;
        _writerLoop = Task.Run(RunWriter, CancellationToken.None);
    }

    /// <summary>Runs <paramref name="work"/> in the writer's transaction. Its events are published
    /// after the commit, in position order. <paramref name="createsEvents"/> says whether the work may
    /// take positions (and so needs the writer's row).</summary>
    public Task<T> WriteAsync<T>(bool createsEvents, Func<PgWrite, Task<(T Value, StoredEvent[] Events)>> work, PipelineStep<T>? step = null)
    {
        var operation = new WriteOperation<T>(createsEvents, work, step);
        if (!_queue.Writer.TryWrite(operation)) throw new InvalidOperationException("The store is shutting down.");
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

    private async Task RunWriter()
    {
        var batch = new List<WriteOperation>(MaxBatch);
        Task<bool>? waiting = null;
        while (true)
        {
            // Idle for a second: renew the lease and raise the writer's row, so an idle node does
            // not hold the other nodes' cursors back.
            waiting ??= _queue.Reader.WaitToReadAsync().AsTask();
            if (!waiting.IsCompleted && await Task.WhenAny(waiting, Task.Delay(IdleRenewal)).ConfigureAwait(false) != waiting)
            {
                await RenewLeaseAsync().ConfigureAwait(false);
                continue;
            }
            var more = await waiting.ConfigureAwait(false);
            waiting = null;
            if (!more) break;
            if (Environment.TickCount64 - Interlocked.Read(ref _renewedAt) > BusyRenewal.TotalMilliseconds) await RenewLeaseAsync().ConfigureAwait(false);
            batch.Clear();
            // Operations that need a savepoint are capped per transaction: past 64 subtransactions
            // PostgreSQL's snapshots of other sessions overflow to a slower path.
            var savepoints = 0;
            while (batch.Count < MaxBatch && savepoints < MaxSavepoints && _queue.Reader.TryRead(out var operation))
            {
                batch.Add(operation);
                if (!operation.HasStep) savepoints++;
            }
            LockChatsInOrder(batch);
            try
            {
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        try
                        {
                            await RunBatchAsync(batch, pipelined: true).ConfigureAwait(false);
                        }
                        catch (PipelineFailedException)
                        {
                            // A pipelined statement failed and took the transaction with it: run the batch
                            // again one operation at a time, each in its own savepoint.
                            await RunBatchAsync(batch, pipelined: false).ConfigureAwait(false);
                        }
                        break;
                    }
                    catch (Exception ex) when (attempt < MaxDeadlockRetries && IsDeadlock(ex))
                    {
                        // Another node's writer locked some of the same chats in another order and
                        // PostgreSQL chose this transaction to fail: the other one goes ahead, this
                        // batch runs again.
                    }
                }
            }
            catch (Exception ex)
            {
                StorageLog.BatchFailed(_logger, ex, batch.Count);
                foreach (var operation in batch) operation.Fail(ex);
                if (ex is WriterLostException) await TakeNewWriterAsync().ConfigureAwait(false);
            }
        }
    }

    private const int MaxDeadlockRetries = 5;

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

    private async Task RenewLeaseAsync()
    {
        try
        {
            if (await Lease.RenewIdleAsync().ConfigureAwait(false)) Interlocked.Exchange(ref _renewedAt, Environment.TickCount64);
            else await TakeNewWriterAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            // The database is unreachable for now: the next round tries again.
            StorageLog.LeaseRenewalFailed(_logger, ex);
        }
    }

    private async Task TakeNewWriterAsync()
    {
        try
        {
            await Lease.AcquireAsync().ConfigureAwait(false);
            Interlocked.Exchange(ref _renewedAt, Environment.TickCount64);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            StorageLog.LeaseRenewalFailed(_logger, ex);
        }
    }

    private async Task RunBatchAsync(List<WriteOperation> batch, bool pipelined)
    {
        var started = StoreInstruments.BatchStarting();
        await using var connection = await DataSource.OpenConnectionAsync().ConfigureAwait(false);
        var withEvents = batch.Exists(o => o.CreatesEvents);
        var writer = Lease.Writer;
        await using (var begin = new NpgsqlBatch(connection))
        {
            begin.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN"));
            if (withEvents) begin.BatchCommands.Add(PgCommands.BatchCommand("SELECT pos FROM stream WHERE id = $1 AND owner = $2 FOR UPDATE", writer, Lease.Owner));
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
            if (high > 0)
            {
                Interlocked.Exchange(ref _renewedAt, Environment.TickCount64);
                events.Sort((a, b) => a.Pos.CompareTo(b.Pos));
                foreach (var e in events)
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
        _queue.Writer.TryComplete();
        if (_writerLoop is not null)
        {
            await _writerLoop.ConfigureAwait(false);
            try
            {
                await Lease.ReleaseAsync().ConfigureAwait(false);
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
    /// <summary>Locks the chat row ($1) and takes its next event position from the sequence, after
    /// the lock (in the row's UPDATE, which PostgreSQL evaluates again on the newest row version if
    /// it had to wait): a chat's events are in position order. The chat's previous event moves to
    /// prev_event_*, so the statement can answer both.</summary>
    public const string TakeChatPosition =
        """
        UPDATE chats SET prev_event_pos = last_event_pos, prev_event_writer = last_event_writer,
            last_event_pos = nextval('stream_positions'), last_event_writer = $2
        WHERE id = $1
        RETURNING last_event_pos, prev_event_pos, prev_event_writer
        """;

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
        var taken = await QueryFirstAsync(r => new ChatPosition(r.GetInt64(0), r.GetInt64(1), r.IsDBNull(2) ? null : r.GetInt32(2)),
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
internal sealed record ChatPosition(long Pos, long PrevPos, int? PrevWriter);
