using Parley.Server.Common;
using Parley.Server.Storage;

namespace Parley.Server.Auth;

/// <summary>An allowance counted in the store, so every node and a restart see the same count:
/// credential attempts (<see cref="AuthThrottle"/>) and exports (<see cref="Users.ExportThrottle"/>).</summary>
public static class StoredAllowance
{
    /// <summary>The longest window an allowance may have: windows that began before it are pruned
    /// (<see cref="ForgetEndedWindowsAsync"/>), so a longer one would be forgotten before its end.</summary>
    public static readonly TimeSpan LongestWindow = TimeSpan.FromHours(1);

    /// <summary>Takes one attempt of <paramref name="key"/>'s allowance in its window. Null when the
    /// attempt may go ahead, else how long to wait (at least a second).</summary>
    public static async Task<TimeSpan?> TakeAllowanceAsync(this ISecurityStore store, string key, TimeSpan window, int allowed, TimeProvider clock)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(window, LongestWindow);
        var now = clock.NowMs();
        var windowEnd = await store.TakeAttemptAsync(key, now, (long)window.TotalMilliseconds, allowed);
        return windowEnd is { } end ? TimeSpan.FromMilliseconds(Math.Max(1_000, end - now)) : null;
    }

    /// <summary>Forgets the windows that have ended, in the store: those that began before the
    /// longest window (shorter ones are kept a little longer than they need).</summary>
    public static Task ForgetEndedWindowsAsync(this ISecurityStore store, TimeProvider clock) =>
        store.PruneAttemptsAsync(clock.NowMs() - (long)LongestWindow.TotalMilliseconds);
}
