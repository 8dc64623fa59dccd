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
/// </summary>
internal sealed class SqliteCheckpointer : IAsyncDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(1000);
    private const int EmptyWaitMs = 20;

    private readonly SqliteConnection _connection;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _committed;
    private int _emptyDue;

    public SqliteCheckpointer(string connectionString, ILogger logger)
    {
        _logger = logger;
        _connection = new SqliteConnection(connectionString);
        _connection.Open();
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

    /// <summary>A TRUNCATE checkpoint; false when it gave up waiting for a writer or a reader.</summary>
    private bool TryEmptyLog() => _connection.QueryFirst(r => r.GetInt64(0), "PRAGMA wal_checkpoint(TRUNCATE)") == 0;

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token)) Tick();
        }
        catch (OperationCanceledException)
        {
            // Stopping: the database's own shutdown checkpoints what is left.
        }
    }

    private void Tick()
    {
        try
        {
            if (Interlocked.Exchange(ref _committed, 0) == 1)
            {
                _connection.Execute("PRAGMA wal_checkpoint(PASSIVE)");
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
