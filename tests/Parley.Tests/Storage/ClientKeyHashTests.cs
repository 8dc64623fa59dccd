using Parley.Server.Storage.Sqlite;

namespace Parley.Tests.Storage;

/// <summary>The hash under which a send's key is kept in the SQLite table (<see cref="SqliteClientIds.KeyHash"/>).</summary>
public sealed class ClientKeyHashTests
{
    private const long Seed = 0x2545F4914F6CDD1D;

    [Fact]
    public void A_key_hashes_alike_every_time_and_under_another_seed_otherwise()
    {
        var hash = SqliteClientIds.KeyHash(Seed, "chat-1", "user-1", "c1");
        Assert.Equal(hash, SqliteClientIds.KeyHash(Seed, "chat-1", "user-1", "c1"));
        Assert.NotEqual(hash, SqliteClientIds.KeyHash(Seed + 1, "chat-1", "user-1", "c1"));
    }

    [Fact]
    public void Each_part_of_a_key_counts_and_so_does_where_it_ends()
    {
        var hashes = new[]
        {
            SqliteClientIds.KeyHash(Seed, "chat-1", "user-1", "c1"),
            SqliteClientIds.KeyHash(Seed, "chat-2", "user-1", "c1"),
            SqliteClientIds.KeyHash(Seed, "chat-1", "user-2", "c1"),
            SqliteClientIds.KeyHash(Seed, "chat-1", "user-1", "c2"),
            SqliteClientIds.KeyHash(Seed, "chat-1", "user-1c", "1"),
            SqliteClientIds.KeyHash(Seed, "chat-1user-1", "", "c1"),
        };
        Assert.Equal(hashes.Length, hashes.Distinct().Count());
    }

    [Fact]
    public void The_longest_keys_hash_as_well_as_short_ones()
    {
        var longKey = new string('é', 128);
        var hash = SqliteClientIds.KeyHash(Seed, new string('c', 400), "user-1", longKey);
        Assert.Equal(hash, SqliteClientIds.KeyHash(Seed, new string('c', 400), "user-1", longKey));
        Assert.NotEqual(hash, SqliteClientIds.KeyHash(Seed, new string('c', 400), "user-1", longKey[..127]));
    }
}
