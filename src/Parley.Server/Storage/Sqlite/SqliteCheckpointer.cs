using Microsoft.Data.Sqlite;

namespace Parley.Server.Storage.Sqlite;

/// <summary>
/// Copies committed pages from the write-ahead log into the database file, on a connection of its
/// own. SQLite's automatic checkpoint runs on the connection that commits, so with it the writer
/// would stop a batch every thousand pages to copy and sync them, and every send queued behind
/// that batch would wait. A PASSIVE checkpoint never waits for the writer or the readers, and the
/// writer starts the log over once everything in it has been copied.
/// </summary>
internal sealed class SqliteCheckpointer : IAsyncDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(1000);

    private readonly SqliteConnection _connection;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _committed;

    public SqliteCheckpointer(string connectionString, ILogger logger)
    {
        _logger = logger;
        _connection = new SqliteConnection(connectionString);
        _connection.Open();
        _loop = Task.Run(RunAsync);
    }

    /// <summary>The writer committed: there is something to copy at the next tick.</summary>
    public void Committed() => Volatile.Write(ref _committed, 1);

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                if (Interlocked.Exchange(ref _committed, 0) == 0) continue;
                try
                {
                    _connection.Execute("PRAGMA wal_checkpoint(PASSIVE)");
                }
                catch (SqliteException ex)
                {
                    StorageLog.CheckpointFailed(_logger, ex);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping: the database's own shutdown checkpoints what is left.
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
