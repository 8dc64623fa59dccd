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
    private readonly ConcurrentDictionary<string, (BlockList Blocks, DateTimeOffset ReadAt)> _entries = new(StringComparer.Ordinal);

    /// <summary>The user's block list if the cache holds a fresh one, found by the id's characters
    /// (a send to a 1:1 chat reads the other member's id out of the chat's id).</summary>
    public bool TryGetFresh(ReadOnlySpan<char> userId, out BlockList blocks)
    {
        if (_entries.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(userId, out var entry) && clock.GetUtcNow() - entry.ReadAt < CacheFor)
        {
            blocks = entry.Blocks;
            return true;
        }
        blocks = default!;
        return false;
    }

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
