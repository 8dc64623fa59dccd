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
        if (blocked)
        {
            // A block hides presence and typing both ways, at once on both sides.
            var shared = (await _store.GetChatIdsAsync(userId)).Intersect(await _store.GetChatIdsAsync(otherId)).ToList();
            Hide(userId, from: otherId, shared);
            Hide(otherId, from: userId, shared);
        }
        else if (!(await _cache.GetAsync(userId)).EitherWay(otherId))
        {
            // Unblocked, and no block the other way: each sees the other as they are now.
            await ShowAsync(userId, to: otherId);
            await ShowAsync(otherId, to: userId);
        }
    }

    /// <summary>Tells <paramref name="from"/>'s sockets that <paramref name="userId"/> is offline and
    /// typing nowhere (lastSeen 0: hidden, as every answer shows it across a block).</summary>
    private void Hide(string userId, string from, IReadOnlyList<string> sharedChats)
    {
        var to = new[] { from };
        _fanOut.Broadcast(to, Frames.Presence(userId, false, 0));
        foreach (var chatId in sharedChats) _fanOut.Broadcast(to, Frames.Typing(chatId, userId, false));
    }

    private async Task ShowAsync(string userId, string to)
    {
        if (await _store.GetUserAsync(userId) is { } user)
        {
            _fanOut.Broadcast([to], Frames.Presence(userId, _presence.IsOnline(userId), _presence.LastSeen(user)));
        }
    }
}
