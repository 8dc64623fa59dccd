using System.Buffers;
using System.IO.Hashing;
using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Parley.Server.Storage.Sqlite;

/// <summary>
/// The idempotency keys of sends (chat, sender, <c>clientMessageId</c> → position), written to their
/// table in sorted batches behind a watermark instead of one by one in every send's transaction.
/// The key a client picks is random, so each send used to dirty a leaf of its own in a unique index
/// on the messages (a page in the log for every send of a batch). Written a chunk at a time, in key
/// order, many keys share a leaf.
/// <para>
/// The table (<c>client_keys</c>) holds a 64-bit hash of each key and its position, not the key's
/// text (about 125 bytes). Random keys land all over the table however they are sorted, so the
/// pages a chunk rewrites grow with the table, and a table a sixth the size has far fewer. The
/// hash is XxHash64 with a seed drawn once per database (<c>client_ids_indexed.hash_seed</c>), so
/// a client cannot pick keys that collide with another's. Two keys with one hash are each still
/// found: a hash names candidate positions, and a key is taken as found only where the message at
/// that position carries it.
/// </para>
/// <para>
/// <c>client_ids_indexed.indexed_pos</c> is the watermark: the key of every message at or below it
/// is in <c>client_keys</c>. The keys above it are held in memory by the one writer, which is the
/// only one to look keys up; they are read back from the messages when the store opens (after a
/// crash too), so a retry finds its original however late it comes. A key in memory may name a
/// send whose transaction was rolled back, which the same check passes over.
/// </para>
/// <para>
/// In memory too a key is held as its hash: a chunk's keys live for seconds, long enough for the
/// garbage collector to copy their strings from generation to generation, where a map of two
/// numbers holds no object of its own for them.
/// </para>
/// </summary>
internal sealed class SqliteClientIds
{
    /// <summary>Positions past the watermark before the writer writes their keys to the table. A
    /// chunk rewrites about every leaf of the table whatever its size, so a larger one costs fewer
    /// pages a send; twice 16,384 took a quarter of the system calls off a send at saturation
    /// (BENCHMARKS.md, "the sends' keys as hashes").</summary>
    public const int Chunk = 32_768;

    /// <summary>The watermark as last committed (writer thread only, like everything here).</summary>
    private long _indexedPos;

    /// <summary>This database's seed of the keys' hashes.</summary>
    private long _seed;

    /// <summary>The keys of messages above the watermark: hash → the newest position with it.</summary>
    private readonly Dictionary<long, long> _recent = new();

    /// <summary>Older positions of a hash in <see cref="_recent"/>: two keys with one hash (about one
    /// chance in ten billion among a chunk's keys), or one key sent again after its transaction
    /// rolled back. Almost always empty.</summary>
    private readonly List<(long Hash, long Pos)> _shadowed = [];

    /// <summary>The chunk under way, a slice a write transaction. Each key is hashed again from its
    /// message, so the table holds only keys that messages carry.</summary>
    private readonly ChunkSlices _slices = new(Chunk, """
        INSERT INTO client_keys (key_hash, pos)
        SELECT client_key_hash((SELECT hash_seed FROM client_ids_indexed), m.chat_id, m.sender_id, m.client_message_id), m.pos
        FROM json_each($1) j JOIN messages m ON m.pos = j.value
        WHERE m.client_message_id IS NOT NULL
        ON CONFLICT DO NOTHING
        """, "UPDATE client_ids_indexed SET indexed_pos = $1");

    /// <summary>Reads the watermark and the keys above it (once, when the database opens).</summary>
    public void Load(SqliteConnection connection)
    {
        (_indexedPos, _seed) = connection.QueryFirst(r => (r.GetInt64(0), r.GetInt64(1)),
            "SELECT indexed_pos, hash_seed FROM client_ids_indexed");
        _recent.Clear();
        _shadowed.Clear();
        foreach (var (chat, sender, clientId, pos) in connection.Query(
            r => (r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt64(3)),
            "SELECT chat_id, sender_id, client_message_id, pos FROM messages WHERE pos > $1 AND client_message_id IS NOT NULL ORDER BY pos",
            _indexedPos))
        {
            Added(chat, sender, clientId, pos);
        }
    }

    /// <summary>Looks for the key where it may be: its position in memory, then the positions its
    /// hash has in the table, newest first. <paramref name="check"/> reads the message at each in
    /// turn (with <paramref name="state"/>, so the caller makes no closure on every send) and answers
    /// it if it carries the key; the first answer ends the search, and null means the key is not
    /// stored.</summary>
    public TAnswer? Find<TState, TAnswer>(SqliteConnection connection, string chatId, string senderId, string clientMessageId,
        TState state, Func<long, TState, TAnswer?> check) where TAnswer : class
    {
        var hash = KeyHash(_seed, chatId, senderId, clientMessageId);
        if (_recent.TryGetValue(hash, out var recent) && check(recent, state) is { } inMemory) return inMemory;
        for (var i = _shadowed.Count - 1; i >= 0; i--)
        {
            if (_shadowed[i].Hash == hash && check(_shadowed[i].Pos, state) is { } shadowed) return shadowed;
        }
        // One row at a time, newest first: a hash almost always names one position or none, so the
        // send that stores a new key reads no list; the next is read only if the one before failed.
        var below = long.MaxValue;
        while (connection.QueryRow(static r => (long?)r.Int64(0),
            "SELECT pos FROM client_keys WHERE key_hash = $1 AND pos < $2 ORDER BY pos DESC LIMIT 1", hash, below) is long pos)
        {
            if (check(pos, state) is { } stored) return stored;
            below = pos;
        }
        return null;
    }

    /// <summary>Takes an expired message's key out of the table.</summary>
    public void Forget(SqliteConnection connection, string chatId, string senderId, string clientMessageId, long pos) =>
        connection.Execute("DELETE FROM client_keys WHERE key_hash = $1 AND pos = $2", KeyHash(_seed, chatId, senderId, clientMessageId), pos);

    /// <summary>A message with this key was written at <paramref name="pos"/> in the open transaction.</summary>
    public void Added(string chatId, string senderId, string clientMessageId, long pos)
    {
        var hash = KeyHash(_seed, chatId, senderId, clientMessageId);
        if (_recent.TryGetValue(hash, out var older)) _shadowed.Add((hash, older));
        _recent[hash] = pos;
    }

    /// <summary>Whether the writer, with every position up to <paramref name="committedPos"/>
    /// committed, should write a slice of keys in this transaction: a chunk is under way, or one is
    /// due.</summary>
    public bool Due(long committedPos) => _slices.UnderWay || committedPos - _indexedPos >= Chunk;

    /// <summary>Writes the next slice of the chunk (<see cref="ChunkSlices"/>) in the writer's open
    /// transaction; returns the watermark as it leaves it, for <see cref="Committed"/>.</summary>
    public long WriteSlice(SqliteConnection connection, long committedPos, int batchOperations) =>
        _slices.WriteSlice(connection, _indexedPos, committedPos, batchOperations, TakeChunk);

    /// <summary>Adds the chunk to <paramref name="chunk"/>: the positions of the keys in memory
    /// above the watermark up to <paramref name="upTo"/>, in the table's order (hash, then position).</summary>
    private void TakeChunk(long upTo, List<long> chunk)
    {
        bool InChunk(long pos) => pos > _indexedPos && pos <= upTo;
        _chunkKeys.Clear();
        foreach (var (hash, pos) in _recent)
        {
            if (InChunk(pos)) _chunkKeys.Add((hash, pos));
        }
        foreach (var key in _shadowed)
        {
            if (InChunk(key.Pos)) _chunkKeys.Add(key);
        }
        _chunkKeys.Sort();
        foreach (var (_, pos) in _chunkKeys) chunk.Add(pos);
        _chunkKeys.Clear();
    }

    /// <summary>The keys of a chunk being taken (kept for the next, as <see cref="ChunkSlices"/> keeps
    /// its positions).</summary>
    private readonly List<(long Hash, long Pos)> _chunkKeys = new(ChunkSlices.ChunkCapacity(Chunk));

    /// <summary>A key's hash under <paramref name="seed"/>: XxHash64 of its three parts in UTF-8,
    /// each followed by a zero byte. The two ids hold none, so the bytes are one key's only.</summary>
    public static long KeyHash(long seed, string chatId, string senderId, string clientMessageId)
    {
        var most = Encoding.UTF8.GetMaxByteCount(chatId.Length + senderId.Length + clientMessageId.Length) + 3;
        var rented = most > StackBytes ? ArrayPool<byte>.Shared.Rent(most) : null;
        Span<byte> bytes = rented is null ? stackalloc byte[most] : rented;
        var length = 0;
        foreach (var part in (ReadOnlySpan<string>)[chatId, senderId, clientMessageId])
        {
            length += Encoding.UTF8.GetBytes(part, bytes[length..]);
            bytes[length++] = 0;
        }
        return Hash(seed, bytes[..length], rented);
    }

    private const int StackBytes = 1024;

    /// <summary>The hash of <paramref name="bytes"/>; gives back the buffer they were rented in, if any.</summary>
    private static long Hash(long seed, ReadOnlySpan<byte> bytes, byte[]? rented)
    {
        var hash = XxHash64.HashToUInt64(bytes, seed);
        if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        return unchecked((long)hash);
    }

    /// <summary>Makes <c>client_key_hash(seed, chat, sender, key)</c> (<see cref="KeyHash"/>) callable
    /// in SQL on <paramref name="connection"/>, for the chunk's statement and the step that moved
    /// the table to hashes. Registered with SQLite directly: it hashes the text's UTF-8 bytes where
    /// they are, where a function through ADO.NET would make three strings a key.</summary>
    public static void AddHashFunction(SqliteConnection connection) =>
        raw.sqlite3_create_function(connection.Handle, "client_key_hash", 4, raw.SQLITE_UTF8 | raw.SQLITE_DETERMINISTIC, null, HashInSql);

    private static void HashInSql(sqlite3_context context, object userData, sqlite3_value[] args)
    {
        // The text's UTF-8 bytes (the function is declared UTF-8), the same bytes KeyHash encodes.
        var chat = raw.sqlite3_value_blob(args[1]);
        var sender = raw.sqlite3_value_blob(args[2]);
        var key = raw.sqlite3_value_blob(args[3]);
        var most = chat.Length + sender.Length + key.Length + 3;
        var rented = most > StackBytes ? ArrayPool<byte>.Shared.Rent(most) : null;
        Span<byte> bytes = rented is null ? stackalloc byte[most] : rented;
        var length = Append(bytes, 0, chat);
        length = Append(bytes, length, sender);
        length = Append(bytes, length, key);
        raw.sqlite3_result_int64(context, Hash(raw.sqlite3_value_int64(args[0]), bytes[..length], rented));
    }

    /// <summary>Writes <paramref name="part"/> and a zero byte at <paramref name="at"/>; returns where they end.</summary>
    private static int Append(Span<byte> bytes, int at, ReadOnlySpan<byte> part)
    {
        part.CopyTo(bytes[at..]);
        bytes[at + part.Length] = 0;
        return at + part.Length + 1;
    }

    /// <summary>The transaction of a slice committed, leaving the watermark at
    /// <paramref name="indexedPos"/>. If that moved it, the keys at or below it are in the table,
    /// and leave memory.</summary>
    public void Committed(long indexedPos)
    {
        _slices.Committed();
        if (indexedPos <= _indexedPos) return;
        _indexedPos = indexedPos;
        foreach (var (hash, pos) in _recent)
        {
            if (pos <= indexedPos) _recent.Remove(hash);
        }
        if (_shadowed.Count > 0) _shadowed.RemoveAll(entry => entry.Pos <= indexedPos);
    }
}
