namespace Parley.Server.Common;

public static class ClockExtensions
{
    /// <summary>Milliseconds since the Unix epoch: the API's one time format.</summary>
    public static long NowMs(this TimeProvider clock) => clock.GetUtcNow().ToUnixTimeMilliseconds();
}
