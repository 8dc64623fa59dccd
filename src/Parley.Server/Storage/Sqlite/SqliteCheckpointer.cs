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
/// the log wraps that far. After a commit that removed content, the next tick also empties the log:
/// once the PASSIVE checkpoint has copied nearly everything beside the writer, a TRUNCATE checkpoint
/// copies what was committed since, waits for readers to leave the log, and cuts the file to
/// nothing. It holds the writer for that time, so it runs only when content was removed, at most
/// once per <see cref="EmptyInterval"/>, and gives up after <see cref="EmptyWaitMs"/> (trying again
/// at the next tick) rather than stall the writer behind a long reader.
/// </summary>
internal sealed class SqliteCheckpointer : IAsyncDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(1000);
    private const int EmptyWaitMs = 50;
    /// <summary>The log grows back from nothing after each emptying, and each holds the writer for a
    /// moment: on a server where someone deletes something every second, at most one per this
    /// interval (BENCHMARKS.md, "deletes beside the load").</summary>
    private static readonly TimeSpan EmptyInterval = TimeSpan.FromSeconds(10);

    private readonly SqliteConnection _connection;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _committed;
    private int _emptyDue;
    private long? _emptiedAt;

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
    /// <paramref name="emptyLog"/> the commit removed content, so the log is emptied.</summary>
    public void Committed(bool emptyLog)
    {
        if (emptyLog) Volatile.Write(ref _emptyDue, 1);
        Volatile.Write(ref _committed, 1);
    }

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                // Taken before the checkpoints: a removal committed meanwhile asks again.
                var empty = (_emptiedAt is not { } at || Environment.TickCount64 - at >= (long)EmptyInterval.TotalMilliseconds)
                    && Interlocked.Exchange(ref _emptyDue, 0) == 1;
                if (Interlocked.Exchange(ref _committed, 0) == 0 && !empty) continue;
                var emptied = false;
                try
                {
                    _connection.Execute("PRAGMA wal_checkpoint(PASSIVE)");
                    emptied = empty && TryEmptyLog();
                    if (emptied) _emptiedAt = Environment.TickCount64;
                }
                catch (SqliteException ex)
                {
                    StorageLog.CheckpointFailed(_logger, ex);
                }
                if (empty && !emptied) Volatile.Write(ref _emptyDue, 1);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping: the database's own shutdown checkpoints what is left.
        }
    }

    /// <summary>False when a reader or the writer held on past the wait: the log is not empty yet.</summary>
    private bool TryEmptyLog() =>
        _connection.QueryFirst(r => r.GetInt64(0), "PRAGMA wal_checkpoint(TRUNCATE)") == 0;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop.ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
