using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Parley.Server.Configuration;

namespace Parley.Server.Storage.Sqlite;

/// <summary>The embedded backend of <see cref="IParleyStore"/>: one SQLite file in WAL mode.</summary>
internal sealed partial class SqliteStore(SqliteDatabase db, IEventPublisher publisher, IOptions<ParleyOptions> options,
    SenderScrubSlices scrubSlices, ILogger<SqliteStore> logger)
    : IParleyStore
{
    public async Task InitializeAsync(CancellationToken ct)
    {
        db.Open();
        StorageLog.StoreReady(logger, "sqlite", Path.GetFullPath(options.Value.DataDirectory));
    }

    public Task<bool> PingAsync(CancellationToken ct) => db.ReadAsync(c => c.Scalar("SELECT 1") == 1);

    private static bool IsUniqueViolation(SqliteException ex) => ex.SqliteErrorCode == 19; // SQLITE_CONSTRAINT
}
