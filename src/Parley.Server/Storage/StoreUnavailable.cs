namespace Parley.Server.Storage;

/// <summary>
/// Whether a failure means a store or service Parley needs is not answering at the moment (a
/// database that refuses connections or is busy past its timeout, DynamoDB throttling or failing,
/// a connection refused), rather than a fault in Parley. A request that meets one is answered 503
/// with <c>Retry-After</c>, which clients retry, and logged as one line without a stack trace.
/// </summary>
public static class StoreUnavailable
{
    // SQLite: BUSY, LOCKED, IOERR, FULL, CANTOPEN.
    private static readonly int[] SqliteOutages = [5, 6, 10, 13, 14];

    public static bool Is(Exception ex) => ex switch
    {
        Npgsql.NpgsqlException pg when pg.IsTransient => true,
        // The server's connection ended by an administrator or a restart of PostgreSQL.
        Npgsql.PostgresException { SqlState: "57P01" or "57P02" or "57P03" } => true,
        Microsoft.Data.Sqlite.SqliteException lite when SqliteOutages.Contains(lite.SqliteErrorCode) => true,
        Amazon.Runtime.AmazonServiceException aws when (int)aws.StatusCode >= 500
            || aws.ErrorCode is "ProvisionedThroughputExceededException" or "RequestLimitExceeded" or "ThrottlingException" => true,
        HttpRequestException or TimeoutException or System.Net.Sockets.SocketException => true,
        _ => ex.InnerException is { } inner && Is(inner),
    };

    /// <summary>For an outage, what its one log line says: the failure's type and its message,
    /// escaped (a message may quote what a client sent); null for any other failure, which is
    /// logged with the whole exception.</summary>
    public static (string Failure, string Reason)? Describe(Exception ex) =>
        Is(ex) ? (ex.GetType().Name, Common.LogText.Escape(ex.Message)) : null;
}
