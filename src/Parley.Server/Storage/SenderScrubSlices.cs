namespace Parley.Server.Storage;

/// <summary>
/// How large a slice of a deleted account's name scrub is (see <see cref="Rules.SenderScrubs"/>),
/// and the loop that runs the slices one after another, each a write of its own: the writer commits
/// whatever queued behind a slice before it takes the next, so a send waits for one slice at most.
/// The deletion's caller awaits every slice, so once it answers, every message the account sent
/// shows "Deleted account".
/// </summary>
internal sealed class SenderScrubSlices
{
    /// <summary>Positions a slice reads. One statement over the whole table took about 75 ms per
    /// 328,000 messages; a slice of 16,384 positions of a million-message file took about 3 ms
    /// (115 ms for the whole table, both warm), so a send waits that long at most, and smaller slices
    /// would add a commit each for little.</summary>
    public const int DefaultPositions = 16_384;

    public int Positions { get; init; } = DefaultPositions;

    /// <summary>For tests: the scrub stops after this many slices, as a server killed there would,
    /// and leaves the rest to the next start.</summary>
    public int? StopAfter { get; init; }

    /// <summary>Runs <paramref name="slice"/> until it says the scrub is done (false).</summary>
    public async Task RunAsync(Func<Task<bool>> slice)
    {
        for (var done = 1; await slice().ConfigureAwait(false); done++)
        {
            if (done == StopAfter) return;
        }
    }
}
