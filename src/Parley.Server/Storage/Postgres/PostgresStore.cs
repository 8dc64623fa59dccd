using Microsoft.Extensions.Options;
using Npgsql;
using Parley.Server.Configuration;

namespace Parley.Server.Storage.Postgres;

/// <summary>The PostgreSQL backend of <see cref="IParleyStore"/>: the same semantics as the SQLite
/// one, shared by every node of a cluster. See <see cref="PostgresDatabase"/> for how positions
/// are handed out.</summary>
internal sealed partial class PostgresStore(PostgresDatabase db, IOptions<ParleyOptions> options, SenderScrubSlices scrubSlices,
    ILogger<PostgresStore> logger)
    : IParleyStore, IClusterEventReader
{
    public async Task InitializeAsync(CancellationToken ct)
    {
        await db.OpenAsync(ct).ConfigureAwait(false);
        var settings = new NpgsqlConnectionStringBuilder(options.Value.Storage.ConnectionString);
        StorageLog.StoreReady(logger, "postgres", $"{settings.Host}:{settings.Port}/{settings.Database}");
    }

    public async Task<bool> PingAsync(CancellationToken ct)
    {
        try
        {
            return await db.ReadAsync(c => c.ScalarAsync("SELECT 1")).ConfigureAwait(false) == 1;
        }
        catch (NpgsqlException)
        {
            return false;
        }
    }

    /// <summary>Runs a write that creates events; they are published after the commit, in position order.</summary>
    private Task<T> WriteAndPublish<T>(Func<PgWrite, Task<(T Value, StoredEvent[] Events)>> work) => db.WriteAsync(true, work);

    private static readonly StoredEvent[] NoEvents = [];

    /// <summary>Takes a transaction's lock on one of a user's capped collections ($1, e.g.
    /// <c>push:&lt;user id&gt;</c>), so that counting what the user holds and adding one more is not
    /// raced by another node doing the same.</summary>
    private const string UserCapLock = "SELECT pg_advisory_xact_lock(hashtextextended('parley.cap:' || $1, 0))";
}
