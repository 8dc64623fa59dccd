using Parley.Server.Common;
using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Parley.Server.Configuration;

namespace Parley.Server.Realtime;

/// <summary>Who is typing where, in memory only. A typing signal lapses unless renewed within
/// <see cref="RealtimeOptions.TypingSeconds"/>. What reaches the other members is coalesced: at
/// most one typing frame per chat per user per second; a change of mind within that second is
/// announced when it ends, so the last word always arrives.</summary>
public sealed class TypingTracker(IOptions<ParleyOptions> options, TimeProvider clock)
{
    /// <summary>Announcements per chat per user are at least this far apart.</summary>
    public const int AnnounceEveryMs = 1000;

    private readonly ConcurrentDictionary<(string ChatId, string UserId), long> _until = new();
    private readonly ConcurrentDictionary<(string ChatId, string UserId), Announced> _announced = new();

    /// <summary>What was last announced for a chat and user, and a different state waiting for its turn.</summary>
    private sealed record Announced(long At, bool IsTyping, bool? Pending);

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

    /// <summary>True when the same state was announced for this chat and user less than a second ago:
    /// the frame only renews the signal (the sender was a member then; no need to ask again).</summary>
    public bool IsRepeat(string chatId, string userId, bool isTyping) =>
        _announced.TryGetValue((chatId, userId), out var last) && last.IsTyping == isTyping && last.Pending is null
        && clock.NowMs() - last.At < AnnounceEveryMs;

    /// <summary>Whether to announce this signal now; if not, a different state is kept for
    /// <see cref="TakeDue"/> to announce when the second is over.</summary>
    public bool TryAnnounce(string chatId, string userId, bool isTyping)
    {
        var key = (chatId, userId);
        var now = clock.NowMs();
        while (true)
        {
            if (!_announced.TryGetValue(key, out var last))
            {
                if (_announced.TryAdd(key, new Announced(now, isTyping, null))) return true;
                continue;
            }
            if (now - last.At >= AnnounceEveryMs)
            {
                if (_announced.TryUpdate(key, new Announced(now, isTyping, null), last)) return true;
                continue;
            }
            if (_announced.TryUpdate(key, last with { Pending = last.IsTyping == isTyping ? null : isTyping }, last)) return false;
        }
    }

    /// <summary>Changes of mind whose second is over: announce them now.</summary>
    public List<(string ChatId, string UserId, bool IsTyping)> TakeDue()
    {
        var now = clock.NowMs();
        var due = new List<(string, string, bool)>();
        foreach (var (key, last) in _announced)
        {
            if (now - last.At < AnnounceEveryMs) continue;
            if (last.Pending is { } pending)
            {
                if (_announced.TryUpdate(key, new Announced(now, pending, null), last)) due.Add((key.ChatId, key.UserId, pending));
            }
            else if (now - last.At > 10 * AnnounceEveryMs)
            {
                _announced.TryRemove(new KeyValuePair<(string, string), Announced>(key, last));
            }
        }
        return due;
    }

    /// <summary>Whether anyone other than <paramref name="viewerId"/>, and other than users hidden
    /// from the viewer (who blocked them), is typing in the chat.</summary>
    public bool AnyoneElseTyping(string chatId, string viewerId, IReadOnlySet<string>? hidden = null)
    {
        var now = clock.NowMs();
        foreach (var ((chat, user), until) in _until)
        {
            if (chat == chatId && user != viewerId && until > now && hidden?.Contains(user) != true) return true;
        }
        return false;
    }

    /// <summary>The chats in which the user is typing now (on this node).</summary>
    public List<string> ChatsOf(string userId)
    {
        var now = clock.NowMs();
        return _until.Where(e => e.Key.UserId == userId && e.Value > now).Select(e => e.Key.ChatId).ToList();
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
