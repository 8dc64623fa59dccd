using Parley.Server.Common;
using System.Collections.Concurrent;
using Parley.Server.Storage;

namespace Parley.Server.Users;

/// <summary>Users' block lists, read through a short-lived cache because every 1:1 send and every
/// typing signal checks one. A block drops the entries of both users, here and (through
/// <see cref="Blocking"/>) on every other node. Each entry also says whether the account is
/// deleted (a 1:1 send to a deleted account is refused); deleting an account drops its entry too.</summary>
public sealed class BlockCache(IAccountStore store, TimeProvider clock)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    private const int MaxEntries = 100_000;
    private readonly ConcurrentDictionary<string, (BlockList Blocks, bool Deleted, DateTimeOffset ReadAt)> _entries = new(StringComparer.Ordinal);

    /// <summary>The user's block list if the cache holds a fresh one, found by the id's characters
    /// (a send to a 1:1 chat reads the other member's id out of the chat's id), and whether the
    /// account is deleted.</summary>
    public bool TryGetFresh(ReadOnlySpan<char> userId, out BlockList blocks, out bool deleted)
    {
        if (_entries.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(userId, out var entry) && clock.GetUtcNow() - entry.ReadAt < CacheFor)
        {
            blocks = entry.Blocks;
            deleted = entry.Deleted;
            return true;
        }
        blocks = default!;
        deleted = false;
        return false;
    }

    public async ValueTask<BlockList> GetAsync(string userId) => (await GetWithDeletedAsync(userId)).Blocks;

    /// <summary>The user's block list and whether the account is deleted (false for an unknown id).</summary>
    public async ValueTask<(BlockList Blocks, bool Deleted)> GetWithDeletedAsync(string userId)
    {
        var now = clock.GetUtcNow();
        if (_entries.TryGetValue(userId, out var entry) && now - entry.ReadAt < CacheFor) return (entry.Blocks, entry.Deleted);
        if (_entries.Count >= MaxEntries) _entries.Clear();
        var blocks = await store.GetBlocksAsync(userId);
        var deleted = (await store.GetUserAsync(userId))?.IsDeleted == true;
        _entries[userId] = (blocks, deleted, now);
        return (blocks, deleted);
    }

    public async Task SetBlockedAsync(string userId, string blockedId, bool blocked)
    {
        await store.SetBlockedAsync(userId, blockedId, blocked, clock.NowMs());
        Forget(userId);
        Forget(blockedId);
    }

    public void Forget(string userId) => _entries.TryRemove(userId, out _);
}
