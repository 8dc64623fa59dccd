namespace Parley.Server.Realtime;

/// <summary>A token bucket for one socket's client frames: <c>perSecond</c> a second, up to twice
/// that in a burst. Only the socket's reader takes from it, so it needs no lock.</summary>
public sealed class FrameBudget(int perSecond, TimeProvider clock)
{
    private readonly double _rate = Math.Max(1, perSecond);
    private readonly double _burst = Math.Max(1, perSecond) * 2.0;
    private double _tokens = Math.Max(1, perSecond) * 2.0;
    private long _last = clock.GetTimestamp();

    public bool TryTake()
    {
        var now = clock.GetTimestamp();
        _tokens = Math.Min(_burst, _tokens + clock.GetElapsedTime(_last, now).TotalSeconds * _rate);
        _last = now;
        if (_tokens < 1) return false;
        _tokens -= 1;
        return true;
    }
}
