using Npgsql;

namespace Parley.Server.Storage.Postgres;

/// <summary>
/// This node's writer in the event stream: one row of <c>stream</c>, held under a lease. The
/// node's writer commits its positions in order and raises the row's <c>pos</c> to the highest it
/// committed, so every event of the writer at or below it is committed (see
/// <see cref="StreamCursor"/>). Nodes never write each other's rows: there is no row that every
/// send of every node writes.
/// <para>
/// A row is taken when nobody holds it (released on shutdown, or its lease ran out), else a new
/// one is added, so the number of writers stays near the number of nodes. Every batch that
/// creates events locks its writer's row first and checks it still holds it: a node that stalled
/// past its lease and lost its row to another fails that batch instead of writing under a row it
/// no longer owns, and takes another row.
/// </para>
/// </summary>
internal sealed class WriterLease(NpgsqlDataSource dataSource)
{
    /// <summary>How long a lease lasts without renewal (renewed with every commit and every second when idle).</summary>
    public const int LeaseSeconds = 30;

    /// <summary>The highest position the sequence has handed out: every position taken later is above it.</summary>
    public const string SequenceHigh = "(SELECT last_value - CASE WHEN is_called THEN 0 ELSE 1 END FROM stream_positions)";

    private readonly Dictionary<int, (long Pos, bool Fresh)> _starts = [];
    private readonly Lock _gate = new();

    /// <summary>This process's name on the rows it holds.</summary>
    public string Owner { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    /// <summary>The writer row this node holds (0 before the first <see cref="AcquireAsync"/>).</summary>
    public int Writer { get; private set; }

    /// <summary>The row's position when this lane took <paramref name="writer"/> (its first
    /// announced run starts after it), and whether the row was new (the writer has no events below it).</summary>
    public bool TryStartOf(int writer, out (long Pos, bool Fresh) start)
    {
        lock (_gate) return _starts.TryGetValue(writer, out start);
    }

    /// <summary>Takes a free writer row, or adds one. Returns the row's position once taken: every
    /// position of the writer up to it is settled (its last holder committed nothing above it).</summary>
    public async Task<long> AcquireAsync(CancellationToken ct = default)
    {
        for (var attempt = 1; ; attempt++)
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
            await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
            try
            {
                var free = await connection.QueryFirstAsync(r => (Id: r.GetInt32(0), Pos: r.GetInt64(1)),
                    "SELECT id, pos FROM stream WHERE owner IS NULL OR lease_until < now() ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED")
                    .ConfigureAwait(false);
                (int Id, long Pos) taken;
                long settled;
                // A row taken over is raised to the sequence's high mark (the floor of the cursor
                // never goes down), but its first run is announced from where its last holder stopped.
                if (free.Id != 0)
                {
                    settled = await connection.ScalarAsync(
                        $"UPDATE stream SET owner = $2, lease_until = now() + make_interval(secs => $3), pos = greatest(pos, {SequenceHigh}) WHERE id = $1 RETURNING pos",
                        free.Id, Owner, LeaseSeconds).ConfigureAwait(false);
                    taken = free;
                }
                else
                {
                    taken = await connection.QueryFirstAsync(r => (r.GetInt32(0), r.GetInt64(1)),
                        $"""
                        INSERT INTO stream (id, pos, owner, lease_until)
                        SELECT coalesce(max(id), 0) + 1, {SequenceHigh}, $1, now() + make_interval(secs => $2) FROM stream
                        RETURNING id, pos
                        """, Owner, LeaseSeconds).ConfigureAwait(false);
                    settled = taken.Pos;
                }
                await transaction.CommitAsync(ct).ConfigureAwait(false);
                lock (_gate)
                {
                    _starts[taken.Id] = (taken.Pos, free.Id == 0);
                    Writer = taken.Id;
                }
                return settled;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation && attempt < 10)
            {
                // Another node added the same row number at the same moment: look again.
            }
        }
    }

    /// <summary>Renews the lease and, the writer being idle (call it between batches only), raises
    /// the row to the sequence's high mark: nothing of this writer is in flight, and whatever it
    /// stores later takes a higher position. With <paramref name="releaseExpired"/> (one lane per
    /// node is enough), also releases the rows whose holder died. False when the row was lost.</summary>
    public async Task<bool> RenewIdleAsync(bool releaseExpired)
    {
        await using var connection = await dataSource.OpenConnectionAsync().ConfigureAwait(false);
        var renewed = await connection.ExecuteAsync(
            $"UPDATE stream SET pos = greatest(pos, {SequenceHigh}), lease_until = now() + make_interval(secs => $3) WHERE id = $1 AND owner = $2",
            Writer, Owner, LeaseSeconds).ConfigureAwait(false);
        // Rows whose holder died: release them, so they no longer hold the cursor floor down. A row
        // locked by a batch still running is left for the next round.
        if (releaseExpired)
        {
            await connection.ExecuteAsync(
                """
                UPDATE stream SET owner = NULL, lease_until = NULL
                WHERE id IN (SELECT id FROM stream WHERE owner IS NOT NULL AND lease_until < now() FOR UPDATE SKIP LOCKED)
                """).ConfigureAwait(false);
        }
        return renewed == 1;
    }

    /// <summary>Gives the row back on shutdown, after the last batch.</summary>
    public async Task ReleaseAsync()
    {
        if (Writer == 0) return;
        await using var connection = await dataSource.OpenConnectionAsync().ConfigureAwait(false);
        await connection.ExecuteAsync("UPDATE stream SET owner = NULL, lease_until = NULL WHERE id = $1 AND owner = $2", Writer, Owner)
            .ConfigureAwait(false);
    }
}

/// <summary>The writer's row was taken over by another node (this one stalled past its lease).</summary>
internal sealed class WriterLostException(int writer)
    : Exception($"This node no longer holds writer {writer} of the event stream; it takes another.");
