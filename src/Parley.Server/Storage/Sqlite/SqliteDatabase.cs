using System.Diagnostics;
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
    private const int MaxIdleReaders = 16;

    private readonly string _connectionString;
    private readonly string _synchronous;
    private readonly int _logRestartMiB;
    private readonly Channel<WriteOperation> _queue = Channel.CreateUnbounded<WriteOperation>(
        new UnboundedChannelOptions { SingleReader = true });
    /// <summary>Committed batches, each with when it committed (Stopwatch ticks), for the completion loop.</summary>
    private readonly Channel<(List<WriteOperation> Batch, long CommittedAt)> _committed = Channel.CreateUnbounded<(List<WriteOperation>, long)>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly ILogger _logger;
    private readonly System.Collections.Concurrent.ConcurrentBag<SqliteConnection> _readers = [];
    private SqliteConnection? _writer;
    private Task? _writerLoop;
    private Task? _completionLoop;
    private SqliteCheckpointer? _checkpointer;
    private readonly SqliteSearchIndex _search = new();
    private readonly SqliteClientIds _clientIds = new();
    private readonly SqliteChatPositions _chatPositions = new();
    /// <summary>When the writer last logged a failure to index for search, to write the sends'
    /// keys, to write the chats' positions, or to commit them (writer thread only).</summary>
    private long? _searchFailureLoggedAt, _clientIdsFailureLoggedAt, _chatPositionsFailureLoggedAt, _indexCommitFailureLoggedAt;
    private const long IndexFailureLogIntervalMs = 60_000;
    /// <summary>Batches in a row whose index work was put off for sends waiting behind them, and
    /// the operations of those batches (writer thread only; see <see cref="IndexAfterBatch"/>).</summary>
    private int _indexDeferrals, _indexOperations;
    internal const int MaxIndexDeferrals = 3;
    /// <summary>Operations past which index work is no longer put off: batches this large come
    /// with a queue that never empties (saturation), where putting it off only makes it lumpier.</summary>
    private const int MaxDeferredOperations = 128;
    private long _lastPos;
    private long _committedPos;

    private readonly Blobs.IBlobStore _blobs;

    public SqliteDatabase(IOptions<ParleyOptions> options, Blobs.IBlobStore blobs, ILogger<SqliteDatabase> logger)
    {
        SqliteThreading.Configure();
        _blobs = blobs;
        var directory = Path.GetFullPath(options.Value.DataDirectory);
        Directory.CreateDirectory(directory);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(directory, "parley.db"),
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        _synchronous = options.Value.Storage.Synchronous.Equals("Full", StringComparison.OrdinalIgnoreCase) ? "FULL" : "NORMAL";
        _logRestartMiB = options.Value.Storage.LogRestartMiB;
        if (_logRestartMiB is < 1 or > StorageOptions.MaxLogRestartMiB)
        {
            throw new InvalidOperationException($"Parley:Storage:LogRestartMiB must be between 1 and {StorageOptions.MaxLogRestartMiB} (it is {_logRestartMiB}).");
        }
        _logger = logger;
    }

    public void Open()
    {
        if (_writer is not null) return;
        var writer = OpenConnection();
        // Takes effect only on a file not yet created: an existing file keeps its page size.
        writer.Execute($"PRAGMA page_size = {NewFilePageSize}");
        writer.Execute("PRAGMA journal_mode = WAL");
        writer.Execute($"PRAGMA synchronous = {_synchronous}");
        // What a write frees (a deleted message, a secret sealed in place) is zeroed, so the file does
        // not keep it until the space is reused. FAST would zero space freed inside a page but leave
        // whole freed pages as they were: a long message's overflow pages, for one.
        writer.Execute("PRAGMA secure_delete = ON");
        // The page cache keeps hot index pages out of read() calls. The file is not mapped: with a
        // mapping, SQLite looks every page a statement reads up in the log's index first, even one
        // already in the cache (to know whether the mapped copy is current), and that lookup was 7%
        // of the server's CPU with one socket sending; unmapped, only a page missing from the cache
        // is looked up (BENCHMARKS.md, "the writer without a mapping of the file").
        SizeWriterCache(writer);
        writer.Execute("PRAGMA mmap_size = 0");
        SqliteMigrations.Apply(writer, _blobs);
        // Checkpoints run beside the writer, not inside its batches (see SqliteCheckpointer).
        writer.Execute("PRAGMA wal_autocheckpoint = 0");
        _checkpointer = new SqliteCheckpointer(_connectionString, _logRestartMiB, _logger);
        _search.Load(writer);
        _clientIds.Load(writer);
        _chatPositions.Load(writer);
        _lastPos = writer.Scalar("SELECT max(coalesce((SELECT max(pos) FROM messages), 0), coalesce((SELECT max(pos) FROM events), 0))");
        _committedPos = _lastPos;
        _writer = writer;
        _writerLoop = Task.Run(RunWriter);
        _completionLoop = Task.Run(RunCompletions);
    }

    /// <summary>
    /// The page size of a new database file. A send dirties pages spread over the file (its chat's
    /// row, its sender's membership, the leaves the chunks of keys and positions land in), and each
    /// dirty page costs two system calls in the log and two more when it is copied to the file, at
    /// any size: with pages of 8 KiB instead of SQLite's 4 KiB the same sends dirty fewer of them.
    /// A send at saturation took 1.7 `pwrite` calls instead of 2.3, and 3.0 instead of 4.0 at 5,000
    /// a second (BENCHMARKS.md, "pages of 8 KiB"); 16 KiB took fewer still but wrote twice the bytes
    /// for a lone send's commit and was slower with one send in flight.
    /// </summary>
    internal const int NewFilePageSize = 8192;

    /// <summary>
    /// The writer's page cache. While SQLite rebalances a b-tree it gives a page, for a moment, the
    /// number of the page that holds the lock byte at 1 GiB; in a file smaller than that, the commit
    /// after it then walks the whole cache for pages past the end of the file. Under load that is
    /// nearly every commit, and the walk costs in proportion to the cache (5% of the server's CPU
    /// at 5,000 sends a second with 64 MiB, 1% with 16 MiB; see BENCHMARKS.md). A file under 1 GiB
    /// gets the smaller cache, which holds its hot pages; a larger one never walks it and gets the
    /// larger cache. Chosen when the store opens, and again every <see cref="CacheCheckCommits"/>
    /// commits, for a file that grows past 1 GiB while the server runs.
    /// </summary>
    internal static long WriterCacheKiB(long fileBytes) => fileBytes > LockByteOffset ? 65536 : 16384;

    /// <summary>Commits between two looks at the file's size (two pragmas answered from the header).</summary>
    private const int CacheCheckCommits = 1024;
    private int _commitsSinceCacheCheck;
    private long _writerCacheKiB;

    private void SizeWriterCache(SqliteConnection writer)
    {
        var kib = WriterCacheKiB(writer.Scalar("PRAGMA page_count") * writer.Scalar("PRAGMA page_size"));
        if (kib == _writerCacheKiB) return;
        writer.Execute($"PRAGMA cache_size = -{kib}");
        _writerCacheKiB = kib;
    }

    /// <summary>Where SQLite's lock byte lies in every database file.</summary>
    private const long LockByteOffset = 1L << 30;

    /// <summary>The newest committed position: every position up to it is committed or abandoned,
    /// so a reader that reads up to it (and no further) can never skip an event still in flight.</summary>
    public long CommittedPosition => Interlocked.Read(ref _committedPos);

    /// <summary>The newest position handed out (committed or not); read inside a write operation,
    /// every position up to it is in the open transaction.</summary>
    internal long LastPosition => Interlocked.Read(ref _lastPos);

    internal SqliteClientIds ClientIds => _clientIds;

    /// <summary>Where each chat's messages are (see <see cref="SqliteChatPositions"/>).</summary>
    internal SqliteChatPositions ChatPositions => _chatPositions;

    /// <summary>Makes the full-text index cover every committed message (before a search).</summary>
    public Task CatchUpSearchIndexAsync() => _search.CatchUpAsync(this);

    /// <summary>Runs <paramref name="work"/> in the writer's transaction. <paramref name="afterCommit"/>
    /// runs after the commit on the publishing thread, in queue order, so committed events leave in position order.</summary>
    public Task<T> WriteAsync<T>(Func<WriteContext, T> work, Action<T>? afterCommit = null) =>
        WriteAsync(work, afterCommit, static result => result);

    /// <summary>As above, with the caller given only <paramref name="answer"/>'s part of the result
    /// (a value without the events the commit published), without a second task to project it.</summary>
    public Task<TAnswer> WriteAsync<T, TAnswer>(Func<WriteContext, T> work, Action<T>? afterCommit, Func<T, TAnswer> answer) =>
        WriteAsync((Work: work, AfterCommit: afterCommit), static (w, s) => s.Work(w),
            afterCommit is null ? null : static (s, result) => s.AfterCommit!(result), answer);

    /// <summary>As above, with what the work needs passed as <paramref name="state"/> to static
    /// delegates: lambdas that captured it would be two or three objects more for every send.</summary>
    public Task<TAnswer> WriteAsync<TState, T, TAnswer>(TState state, Func<WriteContext, TState, T> work, Action<TState, T>? afterCommit,
        Func<T, TAnswer> answer)
    {
        var operation = new WriteOperation<TState, T, TAnswer>(state, work, afterCommit, answer);
        return _queue.Writer.TryWrite(operation)
            ? operation.Task
            : Task.FromException<TAnswer>(new InvalidOperationException("The store is shutting down."));
    }

    /// <summary>Reads on a pooled connection, inline on the caller's thread: reads are short and
    /// SQLite has no async I/O, so a thread hop would only add latency.</summary>
    public Task<T> ReadAsync<T>(Func<SqliteConnection, T> read) => Task.FromResult(Read(read));

    /// <summary>As <see cref="ReadAsync{T}"/>, with all of <paramref name="read"/>'s statements in one
    /// read transaction: one snapshot, and one round of SQLite's file locks (two or three
    /// <c>fcntl</c> calls, and the log's read mark) instead of one for each statement. For short
    /// reads of several statements, such as a sync page's five: while it lasts, the snapshot holds
    /// the log's start-over back.</summary>
    public Task<T> ReadTogetherAsync<T>(Func<SqliteConnection, T> read) => Task.FromResult(Read(read, together: true));

    public T Read<T>(Func<SqliteConnection, T> read) => Read(read, together: false);

    private T Read<T>(Func<SqliteConnection, T> read, bool together)
    {
        if (!_readers.TryTake(out var connection))
        {
            // Readers read through the kernel's page cache, not a mapping of the file: a page
            // mapped by each reader counts once per mapping in the server's RSS (gigabytes for a
            // large file, with 8 readers), and reading through read() cost no more CPU per page.
            connection = OpenConnection();
        }
        try
        {
            if (!together) return read(connection);
            // A snapshot older than the chats' positions held in memory is taken again (seldom: it
            // has to last while a whole chunk of sends commits).
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    return InOneTransaction(connection, read);
                }
                catch (SnapshotTooOldException) when (attempt < 3)
                {
                }
            }
        }
        finally
        {
            // Keep a few open readers (with their prepared statements); close the surplus.
            if (_readers.Count < MaxIdleReaders) _readers.Add(connection);
            else Close(connection);
        }
    }

    private static T InOneTransaction<T>(SqliteConnection connection, Func<SqliteConnection, T> read)
    {
        connection.Run("BEGIN");
        T result;
        try
        {
            result = read(connection);
        }
        catch
        {
            // The connection goes back to the pool: never inside a transaction (SQLite may have
            // ended it already).
            if (SQLitePCL.raw.sqlite3_get_autocommit(connection.Handle) == 0) connection.Run("ROLLBACK");
            throw;
        }
        connection.Run("COMMIT");
        return result;
    }

    /// <summary>Opens a connection whose statements keep their plans. By default SQLite plans some
    /// statements for the values bound to them (a <c>LIMIT $n</c>, for one), so binding new values
    /// throws the prepared statement away and the next step parses and plans it again: a history
    /// or sync page was prepared afresh on every request. The query planner stability guarantee
    /// plans them once, for any value; Parley's queries are all served by the same indexes either way.</summary>
    private SqliteConnection OpenConnection()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        SQLitePCL.raw.sqlite3_db_config(connection.Handle, SQLitePCL.raw.SQLITE_DBCONFIG_ENABLE_QPSG, 1, out _);
        // A statement waits up to 30 s for a lock, those run outside ADO.NET (SqliteRows) included.
        SQLitePCL.raw.sqlite3_busy_timeout(connection.Handle, 30_000);
        // The writer's chunk of sends' keys hashes them in SQL.
        SqliteClientIds.AddHashFunction(connection);
        return connection;
    }

    private static void Close(SqliteConnection connection)
    {
        SqliteRows.Forget(connection);
        connection.Dispose();
    }

    private async Task RunWriter()
    {
        var connection = _writer!;
        var context = new WriteContext(connection, this);
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            _checkpointer?.CopyRestIfAsked(connection);
            var limit = _checkpointer?.BatchLimit(MaxBatch) ?? MaxBatch;
            var batch = new List<WriteOperation>();
            while (batch.Count < limit && _queue.Reader.TryRead(out var operation))
            {
                batch.Add(operation);
            }
            var startPos = _lastPos;
            var started = StoreInstruments.BatchStarting();
            foreach (var operation in batch) StoreInstruments.OperationWaited(operation.QueuedAt, started);
            try
            {
                if (!RunOperations(connection, context, batch, alone: false))
                {
                    // One of them failed: the batch runs again from the start, each operation in a
                    // savepoint of its own, so that only the failing one fails.
                    RollBack(connection);
                    HandOutAgainAfter(startPos);
                    context.Reset();
                    RunOperations(connection, context, batch, alone: true);
                }
                connection.Execute("COMMIT");
                Interlocked.Exchange(ref _committedPos, _lastPos);
                _checkpointer?.Committed(removedContent: context.TakeContentRemoved());
                StoreInstruments.BatchCommitted(started, batch.Count);
                if (++_commitsSinceCacheCheck >= CacheCheckCommits)
                {
                    _commitsSinceCacheCheck = 0;
                    SizeWriterCache(connection);
                }
            }
            catch (Exception ex)
            {
                StorageLog.WriteBatchFailed(_logger, ex, batch.Count);
                RollBack(connection);
                HandOutAgainAfter(startPos);
                context.Reset();
                foreach (var operation in batch) operation.Fail(ex);
                continue;
            }
            // Publishing and waking the callers happen on another thread, in commit order, so the
            // writer can go on at once.
            _committed.Writer.TryWrite((batch, Stopwatch.GetTimestamp()));
            IndexAfterBatch(connection, startPos, batch.Count);
        }
        _committed.Writer.TryComplete();
    }

    /// <summary>
    /// Brings the indexes kept behind a watermark (search, the sends' keys, the chats' positions)
    /// forward in a transaction of their own, after the batch that made the work is committed and
    /// handed over: the batch's sends do not wait for it. In the batch's own transaction it held
    /// about one send in eight for a millisecond more at 5,000 sends a second, while a chunk of
    /// keys and positions was written (BENCHMARKS.md, "indexes after the batch"). While small
    /// batches find sends queued behind them, it waits for up to <see cref="MaxIndexDeferrals"/>
    /// more (BENCHMARKS.md, "index work after waiting sends"). Everything it reads is committed by
    /// now; <paramref name="startPos"/> is where the batch began, the newest position the keys and
    /// positions take (as they always have: one batch behind).
    /// </summary>
    private void IndexAfterBatch(SqliteConnection connection, long startPos, int batchOperations)
    {
        var searchDue = _search.Due(_lastPos);
        var mergeDue = _search.MergeDue;
        var clientIdsDue = _clientIds.Due(startPos);
        var chatPositionsDue = _chatPositions.Due(startPos);
        if (!searchDue && !mergeDue && !clientIdsDue && !chatPositionsDue) return;
        // Small batches with sends already waiting behind them: those go first, and the index work
        // waits for up to a few more batches, then does theirs as well (its slices sized for all).
        _indexOperations += batchOperations;
        if (_indexOperations < MaxDeferredOperations && _queue.Reader.TryPeek(out _) && ++_indexDeferrals <= MaxIndexDeferrals) return;
        var operations = _indexOperations;
        (_indexDeferrals, _indexOperations) = (0, 0);
        // Its commit needs no sync of its own with Synchronous=Full: the next batch's sync covers
        // the log up to there, and work lost with the machine is redone from the watermarks.
        var unsynced = _synchronous == "FULL";
        if (unsynced) connection.Execute("PRAGMA synchronous = NORMAL");
        try
        {
            connection.Execute("BEGIN IMMEDIATE");
            var indexedPos = searchDue
                ? IndexStep(connection, static (c, pos, _) => SqliteSearchIndex.IndexUpTo(c, pos), _lastPos, operations,
                    ref _searchFailureLoggedAt, StorageLog.SearchIndexFailed)
                : null;
            // Then a bounded step of the index's segment merging (1 merged, 0 nothing to merge).
            var searchMerged = mergeDue
                ? IndexStep(connection, static (c, _, count) => SqliteSearchIndex.MergeStep(c, count) ? 1 : 0, _lastPos, operations,
                    ref _searchFailureLoggedAt, StorageLog.SearchIndexFailed)
                : null;
            var clientIdsPos = clientIdsDue
                ? IndexStep(connection, _clientIds.WriteSlice, startPos, operations, ref _clientIdsFailureLoggedAt, StorageLog.ClientIdsFailed)
                : null;
            var chatPositionsPos = chatPositionsDue
                ? IndexStep(connection, _chatPositions.WriteSlice, startPos, operations, ref _chatPositionsFailureLoggedAt, StorageLog.ChatPositionsFailed)
                : null;
            connection.Execute("COMMIT");
            // A step that found nothing clears the flag before a batch indexed in the same
            // transaction sets it again: that batch's segment is merged from the next one.
            if (searchMerged is { } merged) _search.MergeCommitted(merged != 0);
            if (indexedPos is { } indexed) _search.Committed(indexed);
            if (clientIdsPos is { } clientIdsIndexed) _clientIds.Committed(clientIdsIndexed);
            if (chatPositionsPos is { } chatPositionsIndexed) _chatPositions.Committed(chatPositionsIndexed);
            _checkpointer?.Committed(removedContent: false);
        }
        catch (Exception ex)
        {
            // The commit failed (a full disk): nothing of it counts, and a later batch tries again.
            RollBack(connection);
            LogIndexFailure(ex, ref _indexCommitFailureLoggedAt, StorageLog.IndexCommitFailed);
        }
        finally
        {
            if (unsynced) connection.Execute("PRAGMA synchronous = FULL");
        }
    }

    /// <summary>Begins the batch's transaction and runs its operations in it. Together (no
    /// <paramref name="alone"/>), the first that fails stops the run (false) and the caller rolls the
    /// transaction back: a savepoint per operation costs two statements and a copy of every page an
    /// operation changes that an earlier one in the batch had changed, a fifth of the writer's time
    /// in large batches (BENCHMARKS.md, "a batch without a savepoint per send"), and an operation
    /// fails seldom. Alone, each runs in a savepoint: one that fails (a constraint, a bug) is rolled
    /// back and fails by itself, and the rest still commit. An operation may therefore run twice;
    /// the first run is always rolled back.</summary>
    private bool RunOperations(SqliteConnection connection, WriteContext context, List<WriteOperation> batch, bool alone)
    {
        connection.Execute("BEGIN IMMEDIATE");
        foreach (var operation in batch)
        {
            if (!alone)
            {
                if (!operation.Execute(context)) return false;
                continue;
            }
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
                HandOutAgainAfter(opStartPos);
                context.Reset();
            }
        }
        return true;
    }

    /// <summary>Some failures (a full disk, an I/O error) end the transaction by themselves.</summary>
    private static void RollBack(SqliteConnection connection)
    {
        try { connection.Execute("ROLLBACK"); } catch (SqliteException) { /* no transaction left */ }
    }

    /// <summary>Brings an index kept behind a watermark (search, the sends' keys, the chats'
    /// positions) towards <paramref name="upToPos"/> in the transaction after a batch (of
    /// <paramref name="batchOperations"/> operations, which size a chunk's slice); a failure leaves
    /// the work for a later batch and fails no send. The index is passed its arguments rather than
    /// capturing the batch, so the writer's loop makes no closure for every batch.</summary>
    private long? IndexStep(SqliteConnection connection, Func<SqliteConnection, long, int, long> indexUpTo, long upToPos,
        int batchOperations, ref long? failureLoggedAt, Action<ILogger, Exception> logFailure)
    {
        connection.Execute("SAVEPOINT index_step");
        try
        {
            var indexed = indexUpTo(connection, upToPos, batchOperations);
            connection.Execute("RELEASE index_step");
            return indexed;
        }
        catch (SqliteException ex)
        {
            LogIndexFailure(ex, ref failureLoggedAt, logFailure);
            connection.Execute("ROLLBACK TO index_step");
            connection.Execute("RELEASE index_step");
            return null;
        }
    }

    /// <summary>A broken index fails every batch that tries it: one line a minute says so, not a
    /// stack trace per batch.</summary>
    private void LogIndexFailure(Exception ex, ref long? failureLoggedAt, Action<ILogger, Exception> logFailure)
    {
        var now = Environment.TickCount64;
        if (failureLoggedAt is { } logged && now - logged < IndexFailureLogIntervalMs) return;
        failureLoggedAt = now;
        logFailure(_logger, ex);
    }

    private async Task RunCompletions()
    {
        while (await _committed.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (_committed.Reader.TryRead(out var committed))
            {
                var (batch, committedAt) = committed;
                StoreInstruments.HandingOver(committedAt);
                foreach (var operation in batch) operation.Complete(_logger);
            }
        }
    }

    internal long NextPosition() => Interlocked.Increment(ref _lastPos);

    /// <summary>What the writer wrote above <paramref name="pos"/> was rolled back: the positions are
    /// handed out again, and the chats' entries in memory for them go.</summary>
    private void HandOutAgainAfter(long pos)
    {
        Interlocked.Exchange(ref _lastPos, pos);
        _chatPositions.ForgetAbove(pos);
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        if (_writerLoop is not null) await _writerLoop.ConfigureAwait(false);
        if (_completionLoop is not null) await _completionLoop.ConfigureAwait(false);
        if (_checkpointer is not null) await _checkpointer.DisposeAsync().ConfigureAwait(false);
        var writer = Interlocked.Exchange(ref _writer, null);
        if (writer is not null)
        {
            writer.Execute("PRAGMA wal_checkpoint(TRUNCATE)");
            Close(writer);
        }
        while (_readers.TryTake(out var reader)) Close(reader);
        SqliteConnection.ClearAllPools();
    }

    private abstract class WriteOperation
    {
        /// <summary>When the operation was queued for the writer.</summary>
        public long QueuedAt { get; } = Stopwatch.GetTimestamp();

        /// <summary>Runs the work; false when it threw (the caller rolls its savepoint back).</summary>
        public abstract bool Execute(WriteContext context);
        public abstract void Complete(ILogger logger);
        public abstract void Fail(Exception ex);
    }

    private sealed class WriteOperation<TState, T, TAnswer>(TState state, Func<WriteContext, TState, T> work, Action<TState, T>? afterCommit,
        Func<T, TAnswer> answer) : WriteOperation
    {
        private readonly TaskCompletionSource<TAnswer> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T? _result;
        private Exception? _error;

        public Task<TAnswer> Task => _completion.Task;

        public override bool Execute(WriteContext context)
        {
            try
            {
                _error = null;
                _result = work(context, state);
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
                afterCommit?.Invoke(state, _result!);
            }
            catch (Exception ex)
            {
                // The write is durable; a failed publish only delays live delivery (clients resume from the store).
                StorageLog.PublishFailed(logger, ex);
            }
            _completion.TrySetResult(answer(_result!));
        }

        public override void Fail(Exception ex) => _completion.TrySetException(ex);
    }
}

/// <summary>What a write operation gets: the writer connection inside the open transaction, and
/// caches of what sends read every time (a chat's member ids, a sender's name). The writer is the
/// only mutator, so it can keep them exact: operations that change them invalidate them, and a
/// rolled-back operation clears them.</summary>
internal sealed class WriteContext(SqliteConnection connection, SqliteDatabase database)
{
    private const int MaxCachedEntries = 100_000;
    private readonly Dictionary<string, string[]> _members = new();
    private readonly Dictionary<string, (string Name, string? Avatar)> _users = new();

    public SqliteConnection Connection { get; } = connection;

    /// <summary>The sends' idempotency keys (looked up and added by the writer only).</summary>
    public SqliteClientIds ClientIds => database.ClientIds;

    /// <summary>Where each chat's messages are (the writer adds each message's entry).</summary>
    public SqliteChatPositions ChatPositions => database.ChatPositions;

    /// <summary>Takes the next position in the event stream (the one writer hands them out in commit order).</summary>
    public long NextPosition() => database.NextPosition();

    /// <summary>The newest position handed out: every one up to it is in this transaction.</summary>
    public long LastPosition => database.LastPosition;

    public string[] MemberIds(string chatId)
    {
        if (_members.TryGetValue(chatId, out var ids)) return ids;
        if (_members.Count >= MaxCachedEntries) _members.Clear();
        ids = [.. Connection.Query(r => r.GetString(0), "SELECT user_id FROM members WHERE chat_id = $1", chatId)];
        _members[chatId] = ids;
        return ids;
    }

    public void MembersChanged(string chatId) => _members.Remove(chatId);

    /// <summary>A user's name and avatar as messages carry them; AccountNames.Deleted for an unknown id.</summary>
    public (string Name, string? Avatar) UserCard(string userId)
    {
        if (_users.TryGetValue(userId, out var card)) return card;
        if (_users.Count >= MaxCachedEntries) _users.Clear();
        var row = Connection.QueryFirst(r => (Name: r.GetString(0), Avatar: r.StringOrNull(1)), "SELECT name, avatar FROM users WHERE id = $1", userId);
        card = row.Name is null ? (AccountNames.Deleted, null) : row;
        _users[userId] = card;
        return card;
    }

    public void UserChanged(string userId) => _users.Remove(userId);

    private bool _contentRemoved;

    /// <summary>This write removes what a user deleted (or an operator replaced): once it commits
    /// and the writer is idle, the write-ahead log, which still holds the pages as they were, is
    /// emptied (see <see cref="SqliteCheckpointer"/>). Set even if the write later rolls back: an
    /// extra emptying costs little.</summary>
    public void ContentRemoved() => _contentRemoved = true;

    internal bool TakeContentRemoved()
    {
        var removed = _contentRemoved;
        _contentRemoved = false;
        return removed;
    }

    public void Reset()
    {
        _members.Clear();
        _users.Clear();
    }
}
