using Parley.Server.Common;
using System.Collections.Concurrent;
using Parley.Server.Storage;

namespace Parley.Server.Users;

/// <summary>Users' block lists, read through a short-lived cache because every 1:1 send and every
/// typing signal checks one. A block drops the entries of both users, here and (through
/// <see cref="Blocking"/>) on every other node.</summary>
public sealed class BlockCache(IAccountStore store, TimeProvider clock)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    private const int MaxEntries = 100_000;
    private readonly ConcurrentDictionary<string, (BlockList Blocks, DateTimeOffset ReadAt)> _entries = new();

    public async ValueTask<BlockList> GetAsync(string userId)
    {
        var now = clock.GetUtcNow();
        if (_entries.TryGetValue(userId, out var entry) && now - entry.ReadAt < CacheFor) return entry.Blocks;
        if (_entries.Count >= MaxEntries) _entries.Clear();
        var blocks = await store.GetBlocksAsync(userId);
        _entries[userId] = (blocks, now);
        return blocks;
    }

    public async Task SetBlockedAsync(string userId, string blockedId, bool blocked)
    {
        await store.SetBlockedAsync(userId, blockedId, blocked, clock.NowMs());
        Forget(userId);
        Forget(blockedId);
    }

    public void Forget(string userId) => _entries.TryRemove(userId, out _);
}
