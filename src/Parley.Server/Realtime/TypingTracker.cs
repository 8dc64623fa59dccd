using Parley.Server.Common;
using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Parley.Server.Configuration;

namespace Parley.Server.Realtime;

/// <summary>Who is typing where, in memory only. A typing signal lapses unless renewed within
/// <see cref="RealtimeOptions.TypingSeconds"/>.</summary>
public sealed class TypingTracker(IOptions<ParleyOptions> options, TimeProvider clock)
{
    private readonly ConcurrentDictionary<(string ChatId, string UserId), long> _until = new();

    public void Set(string chatId, string userId, bool isTyping)
    {
        if (isTyping)
        {
            _until[(chatId, userId)] = clock.NowMs() + options.Value.Realtime.TypingSeconds * 1000L;
        }
        else
        {
            _until.TryRemove((chatId, userId), out _);
        }
    }

    /// <summary>Whether anyone other than <paramref name="viewerId"/> is typing in the chat.</summary>
    public bool AnyoneElseTyping(string chatId, string viewerId)
    {
        var now = clock.NowMs();
        foreach (var ((chat, user), until) in _until)
        {
            if (chat == chatId && user != viewerId && until > now) return true;
        }
        return false;
    }

    /// <summary>Removes lapsed signals and returns them, so their end can be announced.</summary>
    public List<(string ChatId, string UserId)> TakeExpired()
    {
        var now = clock.NowMs();
        var expired = new List<(string, string)>();
        foreach (var (key, until) in _until)
        {
            if (until <= now && _until.TryRemove(new KeyValuePair<(string, string), long>(key, until))) expired.Add(key);
        }
        return expired;
    }
}
