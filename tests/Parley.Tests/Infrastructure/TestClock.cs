namespace Parley.Tests.Infrastructure;

/// <summary>The system clock moved forward by a chosen amount: a test server given it lives in the
/// future once the test advances it (timers still run on real time).</summary>
public sealed class TestClock : TimeProvider
{
    private long _offsetTicks;

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow().AddTicks(Interlocked.Read(ref _offsetTicks));
}
