using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Parley.Server.Configuration;

namespace Parley.Server.Storage.Sqlite;

/// <summary>
/// The SQLite file: one writer connection fed by a queue, and pooled reader connections (WAL lets
/// readers run beside the writer). Writes queued while a transaction runs are committed together
/// in the next one (group commit): a durable commit costs one fsync whatever the batch size, so
/// throughput grows with load instead of being capped by the disk.
/// </summary>
internal sealed class SqliteDatabase : IAsyncDisposable
{
    private const int MaxBatch = 512;

    private readonly string _connectionString;
    private readonly string _synchronous;
    private readonly Channel<WriteOperation> _queue = Channel.CreateUnbounded<WriteOperation>(
        new UnboundedChannelOptions { SingleReader = true });
    private readonly ILogger _logger;
    private SqliteConnection? _writer;
    private Task? _writerLoop;
    private long _lastPos;
    private long _committedPos;

    public SqliteDatabase(IOptions<ParleyOptions> options, ILogger<SqliteDatabase> logger)
    {
        var directory = Path.GetFullPath(options.Value.DataDirectory);
        Directory.CreateDirectory(directory);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(directory, "parley.db"),
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        _synchronous = options.Value.Storage.Synchronous.Equals("Full", StringComparison.OrdinalIgnoreCase) ? "FULL" : "NORMAL";
        _logger = logger;
    }

    public void Open()
    {
        if (_writer is not null) return;
        var writer = new SqliteConnection(_connectionString);
        writer.Open();
        writer.Execute("PRAGMA journal_mode = WAL");
        writer.Execute($"PRAGMA synchronous = {_synchronous}");
        writer.Execute("PRAGMA busy_timeout = 30000");
        SqliteMigrations.Apply(writer);
        _lastPos = writer.Scalar("SELECT max(coalesce((SELECT max(pos) FROM messages), 0), coalesce((SELECT max(pos) FROM events), 0))");
        _committedPos = _lastPos;
        _writer = writer;
        _writerLoop = Task.Run(RunWriter);
    }

    /// <summary>The newest committed position: every position up to it is committed or abandoned,
    /// so a reader that reads up to it (and no further) can never skip an event still in flight.</summary>
    public long CommittedPosition => Interlocked.Read(ref _committedPos);

    /// <summary>Runs <paramref name="work"/> in the writer's transaction. <paramref name="afterCommit"/>
    /// runs on the writer after the commit, in queue order, so committed events leave in position order.</summary>
    public Task<T> WriteAsync<T>(Func<WriteContext, T> work, Action<T>? afterCommit = null)
    {
        var operation = new WriteOperation<T>(work, afterCommit);
        if (!_queue.Writer.TryWrite(operation))
        {
            throw new InvalidOperationException("The store is shutting down.");
        }
        return operation.Task;
    }

    /// <summary>Reads on a pooled connection, inline on the caller's thread: reads are short and
    /// SQLite has no async I/O, so a thread hop would only add latency.</summary>
    public Task<T> ReadAsync<T>(Func<SqliteConnection, T> read) => Task.FromResult(Read(read));

    public T Read<T>(Func<SqliteConnection, T> read)
    {
        using var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return read(connection);
    }

    private async Task RunWriter()
    {
        var connection = _writer!;
        var batch = new List<WriteOperation>(MaxBatch);
        var context = new WriteContext(connection, this);
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var operation))
            {
                batch.Add(operation);
            }
            var startPos = _lastPos;
            try
            {
                connection.Execute("BEGIN IMMEDIATE");
                foreach (var operation in batch)
                {
                    // A savepoint per operation: one failing write (a constraint, a bug) rolls back
                    // alone and fails alone; the rest of the batch still commits.
                    connection.Execute("SAVEPOINT op");
                    var opStartPos = _lastPos;
                    if (operation.Execute(context))
                    {
                        connection.Execute("RELEASE op");
                    }
                    else
                    {
                        connection.Execute("ROLLBACK TO op");
                        connection.Execute("RELEASE op");
                        Interlocked.Exchange(ref _lastPos, opStartPos);
                    }
                }
                connection.Execute("COMMIT");
                Interlocked.Exchange(ref _committedPos, _lastPos);
            }
            catch (Exception ex)
            {
                StorageLog.BatchFailed(_logger, ex, batch.Count);
                try { connection.Execute("ROLLBACK"); } catch (SqliteException) { /* no transaction left */ }
                Interlocked.Exchange(ref _lastPos, startPos);
                foreach (var operation in batch) operation.Fail(ex);
                continue;
            }
            foreach (var operation in batch)
            {
                operation.Complete(_logger);
            }
        }
    }

    internal long NextPosition() => Interlocked.Increment(ref _lastPos);

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        if (_writerLoop is not null) await _writerLoop.ConfigureAwait(false);
        var writer = Interlocked.Exchange(ref _writer, null);
        if (writer is not null)
        {
            writer.Execute("PRAGMA wal_checkpoint(TRUNCATE)");
            await writer.DisposeAsync().ConfigureAwait(false);
        }
        SqliteConnection.ClearAllPools();
    }

    private abstract class WriteOperation
    {
        /// <summary>Runs the work; false when it threw (the caller rolls its savepoint back).</summary>
        public abstract bool Execute(WriteContext context);
        public abstract void Complete(ILogger logger);
        public abstract void Fail(Exception ex);
    }

    private sealed class WriteOperation<T>(Func<WriteContext, T> work, Action<T>? afterCommit) : WriteOperation
    {
        private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T? _result;
        private Exception? _error;

        public Task<T> Task => _completion.Task;

        public override bool Execute(WriteContext context)
        {
            try
            {
                _result = work(context);
                return true;
            }
            catch (Exception ex)
            {
                _error = ex;
                return false;
            }
        }

        public override void Complete(ILogger logger)
        {
            if (_error is not null)
            {
                _completion.TrySetException(_error);
                return;
            }
            try
            {
                afterCommit?.Invoke(_result!);
            }
            catch (Exception ex)
            {
                // The write is durable; a failed publish only delays live delivery (clients resume from the store).
                StorageLog.PublishFailed(logger, ex);
            }
            _completion.TrySetResult(_result!);
        }

        public override void Fail(Exception ex) => _completion.TrySetException(ex);
    }
}

/// <summary>What a write operation gets: the writer connection inside the open transaction.</summary>
internal sealed class WriteContext(SqliteConnection connection, SqliteDatabase database)
{
    public SqliteConnection Connection { get; } = connection;

    /// <summary>Takes the next position in the global event stream.</summary>
    public long NextPosition() => database.NextPosition();
}
