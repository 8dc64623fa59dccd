namespace Parley.Server.Auth.External;

/// <summary>Log lines of external sign-in. Only configuration (issuer URLs) and ids Parley made
/// appear in them, never anything taken from a token.</summary>
internal static partial class ExternalAuthLog
{
    [LoggerMessage(EventId = 1501, Level = LogLevel.Information, Message = "Read {Count} signing keys of issuer {Issuer}")]
    public static partial void KeysFetched(ILogger logger, string issuer, int count);

    [LoggerMessage(EventId = 1502, Level = LogLevel.Warning, Message = "Could not read the signing keys of issuer {Issuer}: {Reason}")]
    public static partial void KeysFailed(ILogger logger, string issuer, string reason);

    [LoggerMessage(EventId = 1503, Level = LogLevel.Information, Message = "Created user {UserId} for a new account of issuer {Issuer}")]
    public static partial void UserProvisioned(ILogger logger, string userId, string issuer);
}
