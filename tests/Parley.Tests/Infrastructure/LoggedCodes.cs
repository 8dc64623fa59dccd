using System.Text.RegularExpressions;

namespace Parley.Tests.Infrastructure;

/// <summary>Reads the one-time codes that the default code sender (LogCodeSender) writes to the
/// server log: "One-time {purpose} code for {destination}: {code}".</summary>
public static class LoggedCodes
{
    /// <summary>The newest code of this purpose ("confirm" or "reset") sent to this destination, or null.</summary>
    public static string? Latest(ParleyServer server, string purpose, string destination)
    {
        var pattern = new Regex($"One-time {Regex.Escape(purpose)} code for {Regex.Escape(destination)}: ([0-9]{{6}})");
        return server.Logs.Select(line => pattern.Match(line)).Where(m => m.Success).Select(m => m.Groups[1].Value).LastOrDefault();
    }

    public static int Count(ParleyServer server, string purpose, string destination) =>
        server.Logs.Count(line => line.Contains($"One-time {purpose} code for {destination}: ", StringComparison.Ordinal));

    public static string Required(ParleyServer server, string purpose, string destination) =>
        Latest(server, purpose, destination) ?? throw new InvalidOperationException($"no {purpose} code for {destination} in the server log");

    /// <summary>A six-digit code different from <paramref name="code"/>.</summary>
    public static string WrongCode(string code) => ((int.Parse(code) + 1) % 1_000_000).ToString("D6");
}
