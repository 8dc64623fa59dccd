namespace Parley.Server.Auth;

/// <summary>Delivers one-time codes (phone confirmation, password reset). Replace the default with
/// an SMS or email gateway by registering another implementation.</summary>
public interface ICodeSender
{
    Task SendAsync(string destination, string purpose, string code);
}

/// <summary>The default sender: writes the code to the server log, for development and tests.</summary>
public sealed partial class LogCodeSender(ILogger<LogCodeSender> logger) : ICodeSender
{
    public Task SendAsync(string destination, string purpose, string code)
    {
        CodeIssued(logger, purpose, Common.LogText.Escape(destination), code);
        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "One-time {Purpose} code for {Destination}: {Code}")]
    private static partial void CodeIssued(ILogger logger, string purpose, string destination, string code);
}
