using Microsoft.Data.Sqlite;

namespace Parley.Server.Storage.Sqlite;

/// <summary>
/// Copies committed pages from the write-ahead log into the database file, on a connection of its
/// own. SQLite's automatic checkpoint runs on the connection that commits, so with it the writer
/// would stop a batch every thousand pages to copy and sync them, and every send queued behind
/// that batch would wait. A PASSIVE checkpoint never waits for the writer or the readers, and the
/// writer starts the log over once everything in it has been copied.
///
/// Starting over overwrites the log from its beginning but leaves the rest of the file as it was,
/// so earlier versions of changed pages (a deleted message's text among them) would stay in it until
/// the log wraps that far. After a commit that removed content, the first tick that finds the writer
/// idle (nothing committed for a second) empties the log: a TRUNCATE checkpoint copies what is left,
/// waits for readers to leave the log, and cuts the file to nothing. It is not done while the writer
/// is busy: it needs the writer's lock and holds it while it copies, syncs and waits for readers,
/// which stalled sends for up to 0.9 s at saturation (BENCHMARKS.md, "deletes beside the load").
/// It gives up after <see cref="EmptyWaitMs"/> rather than hold a send behind a long read, and
/// tries again at the next idle tick.
///
/// The writer starts the log over only at a transaction that begins with all of the log copied.
/// Under continuous writes that never happens by itself: each checkpoint copies what was committed
/// when it began, and by its end the writer has committed more. The log then kept every page ever
/// written (1.8 GB after 90,000 sends at 3,000 a second), and each append grew the file. So once the
/// log holds <c>Parley:Storage:LogRestartMiB</c> or more, it is started over in three steps
/// (<see cref="RestartStep"/>): the writer is asked for short batches; the checkpointer copies
/// again until a pass finds at most <see cref="HandOverFrames"/> new frames; then the writer copies
/// the rest itself between two batches, when nothing is appended, and its next transaction starts
/// the log over. Copying the rest of a full batch instead (thousands of pages, then two syncs)
/// stalled the writer 80-120 ms at every start (BENCHMARKS.md, "the write-ahead log starts over").
/// </summary>
internal sealed class SqliteCheckpointer : IAsyncDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(1000);
    private const int EmptyWaitMs = 20;
    /// <summary>The writer copies at most this many frames, and one short batch's, itself.</summary>
    private const int HandOverFrames = 256;
    /// <summary>The writer's batches while the log is being started over.</summary>
    private const int ShortBatch = 16;
    /// <summary>How long the checkpointer tries to bring the writer's part down before it gives up until the next tick.</summary>
    private static readonly TimeSpan RestartTimeout = TimeSpan.FromMilliseconds(500);

    private enum RestartStep { None, ShortBatchesAsked, ShortBatchesRunning, WriterCopies }

    private readonly SqliteConnection _connection;
    private readonly ILogger _logger;
    /// <summary>Log frames (pages: 8 KiB in a new file, 4 KiB in one created before) from which the log is started over under continuous writes.</summary>
    private readonly long _restartFrames;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _committed;
    private int _emptyDue;
    private int _restartStep;

    public SqliteCheckpointer(string connectionString, int restartMiB, ILogger logger)
    {
        _logger = logger;
        _connection = new SqliteConnection(connectionString);
        _connection.Open();
        _restartFrames = restartMiB * 1024L * 1024L / _connection.QueryFirst(r => r.GetInt64(0), "PRAGMA page_size");
        // Only a TRUNCATE checkpoint waits (for the writer and the readers); PASSIVE never does.
        SQLitePCL.raw.sqlite3_busy_timeout(_connection.Handle, EmptyWaitMs);
        _loop = Task.Run(RunAsync);
    }

    /// <summary>The writer committed: there is something to copy at the next tick, and with
    /// <paramref name="removedContent"/> the commit removed content, so the log is emptied once
    /// the writer is idle.</summary>
    public void Committed(bool removedContent)
    {
        if (removedContent) Volatile.Write(ref _emptyDue, 1);
        Volatile.Write(ref _committed, 1);
    }

    /// <summary>The writer starts a batch: how many operations it may take.</summary>
    public int BatchLimit(int usual)
    {
        if (Volatile.Read(ref _restartStep) == (int)RestartStep.None) return usual;
        Interlocked.CompareExchange(ref _restartStep, (int)RestartStep.ShortBatchesRunning, (int)RestartStep.ShortBatchesAsked);
        return ShortBatch;
    }

    /// <summary>Called by the writer between two batches: copies the rest of the log when asked
    /// to, so that its next transaction starts the log over.</summary>
    public void CopyRestIfAsked(SqliteConnection writer)
    {
        if (Volatile.Read(ref _restartStep) != (int)RestartStep.WriterCopies) return;
        try
        {
            writer.Execute("PRAGMA wal_checkpoint(PASSIVE)");
        }
        catch (SqliteException ex)
        {
            StorageLog.CheckpointFailed(_logger, ex);
        }
        finally
        {
            Interlocked.CompareExchange(ref _restartStep, (int)RestartStep.None, (int)RestartStep.WriterCopies);
        }
    }

    /// <summary>A PASSIVE checkpoint: the frames in the log, and how many of them are in the database file.</summary>
    private (long Log, long Copied) CopyPassive() =>
        _connection.QueryFirst(r => (r.GetInt64(1), r.GetInt64(2)), "PRAGMA wal_checkpoint(PASSIVE)");

    /// <summary>Copies the log into the database file and, when it has grown past
    /// <see cref="_restartFrames"/>, has the writer start it over.</summary>
    private async Task CopyAsync()
    {
        var (log, copied) = CopyPassive();
        if (log < _restartFrames) return;
        Volatile.Write(ref _restartStep, (int)RestartStep.ShortBatchesAsked);
        try
        {
            var started = Environment.TickCount64;
            while (Environment.TickCount64 - started < RestartTimeout.TotalMilliseconds)
            {
                // A pass that begins once the writer has begun a short batch copies every full
                // batch. Each pass copies what the writer committed during the one before, so one
                // that found little to copy was quick, and little was committed during it.
                var shortBefore = Volatile.Read(ref _restartStep) == (int)RestartStep.ShortBatchesRunning;
                var before = log;
                (log, copied) = CopyPassive();
                if (!shortBefore)
                {
                    await Task.Delay(2, _stop.Token);
                }
                else if (log - before <= HandOverFrames && log == copied && Interlocked.CompareExchange(ref _restartStep,
                    (int)RestartStep.WriterCopies, (int)RestartStep.ShortBatchesRunning) == (int)RestartStep.ShortBatchesRunning)
                {
                    return;
                }
            }
        }
        finally
        {
            // Unless the writer now copies the rest: back to full batches. A writer that stayed
            // idle starts the log over by itself; one that outpaced every pass is tried again at
            // the next tick, and so is a pass that failed.
            Interlocked.CompareExchange(ref _restartStep, (int)RestartStep.None, (int)RestartStep.ShortBatchesAsked);
            Interlocked.CompareExchange(ref _restartStep, (int)RestartStep.None, (int)RestartStep.ShortBatchesRunning);
        }
    }

    /// <summary>A TRUNCATE checkpoint; false when it gave up waiting for a writer or a reader.</summary>
    private bool TryEmptyLog() => _connection.QueryFirst(r => r.GetInt64(0), "PRAGMA wal_checkpoint(TRUNCATE)") == 0;

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token)) await TickAsync();
        }
        catch (OperationCanceledException)
        {
            // Stopping: the database's own shutdown checkpoints what is left.
        }
    }

    private async Task TickAsync()
    {
        try
        {
            if (Interlocked.Exchange(ref _committed, 0) == 1)
            {
                await CopyAsync();
            }
            else if (Interlocked.Exchange(ref _emptyDue, 0) == 1 && !TryEmptyLog())
            {
                // Taken before the emptying, so a removal committed meanwhile asks again anyway.
                Volatile.Write(ref _emptyDue, 1);
            }
        }
        catch (SqliteException ex)
        {
            StorageLog.CheckpointFailed(_logger, ex);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop.ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
