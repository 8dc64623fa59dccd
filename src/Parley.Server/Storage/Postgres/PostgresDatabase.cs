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
/// A batch that creates events first locks the one row of <c>stream</c> (<c>SELECT ... FOR UPDATE</c>),
/// hands out positions from it in memory, and writes the new high mark back in the commit's round
/// trip. The row lock orders every event-creating transaction of every node: the next one gets its
/// positions only after this one committed (or rolled back, freeing its positions for reuse), so
/// commits happen in position order and a committed <c>stream.pos</c> is a cursor that no in-flight
/// event can fall behind. It is always the first lock such a transaction takes, so it cannot
/// deadlock against the row locks taken after it.
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

    public PostgresDatabase(IOptions<ParleyOptions> options, IEventPublisher publisher, ILogger<PostgresDatabase> logger)
    {
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
        _publisher = publisher;
        _logger = logger;
    }

    public NpgsqlDataSource DataSource { get; }

    public async Task OpenAsync(CancellationToken ct)
    {
        if (_writerLoop is not null) return;
        await using (var connection = await DataSource.OpenConnectionAsync(ct).ConfigureAwait(false))
        {
            await PostgresMigrations.ApplyAsync(connection, ct).ConfigureAwait(false);
        }
        _writerLoop = Task.Run(RunWriter, CancellationToken.None);
    }

    /// <summary>Runs <paramref name="work"/> in the writer's transaction. Its events are published
    /// after the commit, in position order. <paramref name="createsEvents"/> says whether the work may
    /// take positions (and so needs the stream lock).</summary>
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
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            // Operations that need a savepoint are capped per transaction: past 64 subtransactions
            // PostgreSQL's snapshots of other sessions overflow to a slower path.
            var savepoints = 0;
            while (batch.Count < MaxBatch && savepoints < MaxSavepoints && _queue.Reader.TryRead(out var operation))
            {
                batch.Add(operation);
                if (!operation.HasStep) savepoints++;
            }
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
            }
            catch (Exception ex)
            {
                StorageLog.BatchFailed(_logger, ex, batch.Count);
                foreach (var operation in batch) operation.Fail(ex);
            }
        }
    }

    private async Task RunBatchAsync(List<WriteOperation> batch, bool pipelined)
    {
        var started = StoreInstruments.BatchStarting();
        await using var connection = await DataSource.OpenConnectionAsync().ConfigureAwait(false);
        var withEvents = batch.Exists(o => o.CreatesEvents);
        long basePos = 0;
        await using (var begin = new NpgsqlBatch(connection))
        {
            begin.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN"));
            if (withEvents) begin.BatchCommands.Add(new NpgsqlBatchCommand("SELECT pos FROM stream WHERE id = 1 FOR UPDATE"));
            await using var reader = await begin.ExecuteReaderAsync().ConfigureAwait(false);
            if (withEvents && await reader.ReadAsync().ConfigureAwait(false)) basePos = reader.GetInt64(0);
        }
        var context = new PgWrite(connection, basePos);
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
            var last = context.Position;
            await using (var commit = new NpgsqlBatch(connection))
            {
                foreach (var sql in context.TakePending()) commit.BatchCommands.Add(new NpgsqlBatchCommand(sql));
                if (last > basePos)
                {
                    commit.BatchCommands.Add(PgCommands.BatchCommand("UPDATE stream SET pos = $1 WHERE id = 1", last));
                }
                commit.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
                await commit.ExecuteNonQueryAsync().ConfigureAwait(false);
            }
            committed = true;
            StoreInstruments.BatchCommitted(started, batch.Count);
            if (last > basePos)
            {
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
        if (_writerLoop is not null) await _writerLoop.ConfigureAwait(false);
        await DataSource.DisposeAsync().ConfigureAwait(false);
    }

    private abstract class WriteOperation(bool createsEvents)
    {
        public bool CreatesEvents { get; } = createsEvents;
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
        : WriteOperation(createsEvents)
    {
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
/// positions from the block this transaction holds.</summary>
internal sealed class PgWrite(NpgsqlConnection connection, long basePos) : IPgSession
{
    private readonly List<string> _pending = [];
    private long _position = basePos;
    private long _opStart;
    private bool _opCreatesEvents;
    private bool _savepointOpen;

    public NpgsqlConnection Connection { get; } = connection;

    /// <summary>The last position handed out in this transaction.</summary>
    public long Position => _position;

    /// <summary>Takes the next position in the global event stream.</summary>
    public long NextPosition()
    {
        if (!_opCreatesEvents) throw new InvalidOperationException("This write was not queued as one that creates events.");
        return ++_position;
    }

    internal void BeginOperation(bool createsEvents)
    {
        _opCreatesEvents = createsEvents;
        _opStart = _position;
        _savepointOpen = false;
        _pending.Add("SAVEPOINT op");
    }

    /// <summary>Starts an operation that runs as one pipelined statement (no savepoint).</summary>
    internal void BeginPipelined(bool createsEvents)
    {
        _opCreatesEvents = createsEvents;
        _opStart = _position;
    }

    internal void EndOperation()
    {
        if (_savepointOpen) _pending.Add("RELEASE SAVEPOINT op");
        else _pending.RemoveAt(_pending.Count - 1); // the operation ran no statement
    }

    internal async Task RollBackOperationAsync()
    {
        _position = _opStart;
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
    Func<NpgsqlDataReader, object?, (T Value, StoredEvent[] Events)> Read);
