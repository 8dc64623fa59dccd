
namespace Parley.Server.Storage.DynamoDb;

/// <summary>
/// The DynamoDB backend of <see cref="IParleyStore"/> (tables in <see cref="DynamoTables"/>). DynamoDB
/// has single-item conditions and no multi-table transactions on every engine Parley runs on
/// (dynalite has none), so each operation is a short series of conditional writes, ordered so
/// that a process killed between two of them leaves nothing a reader could take for done (see
/// docs/ARCHITECTURE.md, "DynamoDB"). Every node of a cluster shares the tables.
/// </summary>
internal sealed partial class DynamoStore(DynamoDatabase db, DynamoWriters writers, IEventPublisher publisher, ILogger<DynamoStore> logger)
    : IParleyStore, IClusterEventSource
{
    public async Task InitializeAsync(CancellationToken ct)
    {
        if (db.CreateTables)
        {
            await DynamoTables.CreateAsync(db.Client, db.Prefix, ct).ConfigureAwait(false);
        }
        await _writers.StartAsync(ct).ConfigureAwait(false);
        StorageLog.StoreReady(logger, "dynamodb", db.Client.Config.ServiceURL ?? db.Client.Config.RegionEndpoint?.SystemName ?? "default region");
    }

    public Task<bool> PingAsync(CancellationToken ct) => db.PingAsync(ct);

    public (long Pos, bool Fresh) WriterStart(int writer) => _writers.WriterStart(writer);

    public ValueTask SettleAsync(int writer, long last) => _writers.SettleAsync(writer, last);

    private readonly DynamoWriters _writers = writers;
    private readonly IEventPublisher _publisher = publisher;
}
