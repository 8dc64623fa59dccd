// One browser at a time: the suite shares one Chromium and the machine has two cores.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Parley.BrowserTests.Infrastructure;

public static class Limits
{
    /// <summary>A hung test fails instead of holding the run (xunit enforces it with parallelization off).</summary>
    public const int TestMs = 240_000;
}
