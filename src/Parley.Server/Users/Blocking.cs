using Parley.Server.Realtime;
using Parley.Server.Realtime.Bus;
using Parley.Server.Storage;

namespace Parley.Server.Users;

/// <summary>
/// Blocking and unblocking, with effect at once on every node: the block lists cached by the
/// other nodes are dropped through the bus, and the other user's sockets learn straight away what
/// they may no longer see (the blocker offline, not typing in any shared chat) or may see again
/// (the blocker's presence as it is now).
/// </summary>
public sealed class Blocking
{
    private readonly BlockCache _cache;
    private readonly IParleyStore _store;
    private readonly LocalFanOut _fanOut;
    private readonly Presence _presence;
    private readonly IClusterBus _bus;

    public Blocking(BlockCache cache, IParleyStore store, LocalFanOut fanOut, Presence presence, IClusterBus bus)
    {
        _cache = cache;
        _store = store;
        _fanOut = fanOut;
        _presence = presence;
        _bus = bus;
        bus.Subscribe(BusChannels.BlocksChanged, message =>
        {
            foreach (var userId in message.Body.Split('\n')) cache.Forget(userId);
        });
    }

    /// <summary>A deleted account: its cached entry goes on every node, so a send to it is refused
    /// at once rather than when the entry would have expired.</summary>
    public void AccountDeleted(string userId)
    {
        _cache.Forget(userId);
        _bus.SendToAll(BusChannels.BlocksChanged, userId);
    }

    public async Task SetBlockedAsync(string userId, string otherId, bool blocked)
    {
        await _cache.SetBlockedAsync(userId, otherId, blocked);
        _bus.SendToAll(BusChannels.BlocksChanged, userId + "\n" + otherId);
        var other = new[] { otherId };
        if (blocked)
        {
            // lastSeen 0: hidden, as every answer shows it to someone you blocked.
            _fanOut.Broadcast(other, Frames.Presence(userId, false, 0));
            var shared = (await _store.GetChatIdsAsync(userId)).Intersect(await _store.GetChatIdsAsync(otherId));
            foreach (var chatId in shared) _fanOut.Broadcast(other, Frames.Typing(chatId, userId, false));
        }
        else if (await _store.GetUserAsync(userId) is { } me)
        {
            _fanOut.Broadcast(other, Frames.Presence(userId, _presence.IsOnline(userId), _presence.LastSeen(me)));
        }
    }
}
