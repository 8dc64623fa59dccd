using Microsoft.Data.Sqlite;
using Parley.Server.Storage;
using Parley.Server.Storage.Sqlite;

namespace Parley.Tests.Storage;

/// <summary>The chunks of entries kept behind a watermark (the sends' keys, the chats' positions)
/// reach their tables a slice a write transaction (see <c>ChunkSlices</c>).</summary>
public sealed partial class SqliteStoreContractTests
{
    /// <summary>The SQLite file, read-only, beside the store.</summary>
    private async Task<SqliteConnection> OpenFileAsync()
    {
        var file = new SqliteConnection($"Data Source={Path.Combine(_directory, "parley.db")};Mode=ReadOnly;Pooling=False");
        await file.OpenAsync();
        return file;
    }

    private async Task<long> ScalarAsync(string sql, params (string Name, object Value)[] args)
    {
        await using var file = await OpenFileAsync();
        using var command = file.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in args) command.Parameters.AddWithValue(name, value);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private Task<long> WatermarkAsync(string table) => ScalarAsync($"SELECT indexed_pos FROM {table}");

    /// <summary>Sends one at a time, each in a batch of its own and so writing a slice, until the
    /// watermark in <paramref name="table"/> reaches <paramref name="pos"/>; returns how many it sent.
    /// A chunk of single sends has 128 slices: more than a few times that is a chunk that never ends.</summary>
    private async Task<int> SendUntilIndexedAsync(string table, long pos, Func<int, Task> send)
    {
        var sent = 0;
        while (await WatermarkAsync(table) < pos)
        {
            Assert.True(sent < 4 * SqliteChatPositions.Chunk / ChunkSlices.MinEntries, $"The watermark of {table} did not reach {pos}.");
            await send(sent++);
        }
        return sent;
    }

    /// <summary>A server stopped with a chunk half written left slices above the watermark. Reads
    /// pass over them and take memory's entries instead (read back from the messages at start), so
    /// every message is read once; a retry still finds its original; the chunk is written again
    /// over them, and then the table holds each entry once.</summary>
    [StoreFact]
    public async Task A_chunk_half_written_when_the_server_stops_is_read_whole_and_written_again_after_it()
    {
        var (a, b, chat) = await TwoUsersInADirectChatAsync();
        Task<SendResult> Send(string sender, string content, string key) =>
            Store.SendMessageAsync(new NewMessage(chat, sender, MessageTypes.Text, content, key, null, null, 2), null);

        // A chunk queued at once (in batches), then one at a time until some slices of both
        // chunks are in their tables and neither watermark has moved.
        var sent = (await Task.WhenAll(Enumerable.Range(0, SqliteChatPositions.Chunk)
            .Select(i => Send(i % 2 == 0 ? a : b, $"m{i}", $"k-{i}")))).Select(r => r.Message!).ToList();
        Task<long> Above(string table, string watermarks) =>
            ScalarAsync($"SELECT count(*) FROM {table} WHERE pos > (SELECT indexed_pos FROM {watermarks})");
        for (var i = 0; await Above("chat_positions", "chat_positions_indexed") == 0 || await Above("client_keys", "client_ids_indexed") == 0; i++)
        {
            Assert.True(i < 8, "No slice was written.");
            sent.Add((await Send(a, $"one {i}", $"k-one-{i}")).Message!);
        }
        Assert.Equal(0, await WatermarkAsync("chat_positions_indexed"));
        Assert.Equal(0, await WatermarkAsync("client_ids_indexed"));

        var lastBefore = sent[^1].Pos;
        await ReopenAsync();

        // Every message once, newest first, in pages of 1,000.
        async Task<List<string>> HistoryAsync()
        {
            var ids = new List<string>();
            for (var before = long.MaxValue; ;)
            {
                var page = await Store.GetMessagesAsync(chat, b, 0, before, 1000);
                ids.AddRange(page.Select(m => m.Id));
                if (page.Count < 1000) return ids;
                before = page[^1].Pos;
            }
        }
        var expected = sent.Select(m => m.Id).Reverse().ToList();
        Assert.Equal(expected, await HistoryAsync());
        var retry = await Send(a, "again", "k-0");
        Assert.Equal((SendOutcome.Duplicate, sent[0].Id), (retry.Outcome, retry.Message!.Id));

        // The chunk is taken again and written over the slices already there: then every message
        // up to the watermark has its one entry, and every key its one row.
        await SendUntilIndexedAsync("chat_positions_indexed", lastBefore, i => Send(a, $"slice {i}", $"k-slice-{i}"));
        await SendUntilIndexedAsync("client_ids_indexed", lastBefore, i => Send(a, $"slice {i}", $"k-slice-{i}"));
        var indexed = ("$indexed", (object)await WatermarkAsync("chat_positions_indexed"));
        Assert.Equal(await ScalarAsync("SELECT count(*) FROM messages WHERE pos <= $indexed", indexed),
            await ScalarAsync("SELECT count(*) FROM chat_positions WHERE pos <= $indexed", indexed));
        Assert.Equal(0, await ScalarAsync("SELECT count(*) FROM (SELECT pos FROM client_keys GROUP BY pos HAVING count(*) > 1)"));
        var history = await HistoryAsync();
        Assert.Equal(history.Count, history.Distinct().Count());
        Assert.Equal(expected, history.Where(expected.ToHashSet().Contains));
        var retryAfter = await Send(a, "again", "k-0");
        Assert.Equal((SendOutcome.Duplicate, sent[0].Id), (retryAfter.Outcome, retryAfter.Message!.Id));
    }
}
