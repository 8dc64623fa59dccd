using System.Diagnostics;
using System.Text.Json;
using Parley.Bench.Infrastructure;

namespace Parley.Bench.Workloads;

/// <summary>history: stores N messages in K 1:1 chats through the API (WebSocket sends with a
/// window per sender, or concurrent REST posts), then
/// 1. walks every chat's history page by page (<c>GET /chats/{id}/messages?limit=&amp;lastKey=</c>),
///    checking each stored message comes back exactly once, and keeps every <c>lastKey</c>;
/// 2. reads pages at random from those keys;
/// 3. walks each reader's <c>/sync?since=</c> from the cursor before the fill, checking the same;
/// 4. reads sync pages at random from those cursors.
/// Every request is timed from send to the last byte of the body.</summary>
internal static class HistoryWorkload
{
    public static async Task RunAsync(BenchContext ctx, BenchReport report)
    {
        var o = ctx.Options;
        report.Parameters["messages"] = o.Messages;
        report.Parameters["chats"] = o.Chats;
        report.Parameters["sendVia"] = o.SendViaRest ? "rest" : "ws";
        report.Parameters["pageSize"] = o.PageSize;
        report.Parameters["reads"] = o.Reads;
        report.Parameters["concurrency"] = o.Concurrency;

        var users = await ctx.CreateUsersAsync(o.Chats * 2, report);
        var chats = await ctx.CreatePairChatsAsync(users, report);
        // Readers are the second member of each chat; they stay offline and read.
        var readers = chats.Select(c => c.Members[1]).ToArray();
        var cursors0 = new string?[chats.Length];
        await Parallel.ForAsync(0, chats.Length, new ParallelOptions { MaxDegreeOfParallelism = o.SetupConcurrency, CancellationToken = ctx.Cancel }, async (i, ct) =>
        {
            cursors0[i] = await ctx.Api.CurrentCursorAsync(readers[i], ct);
        });

        var window = ctx.Monitor.StartWindow();
        var tracker = new DeliveryTracker();
        var quota = chats.Select(c => o.Messages / chats.Length + (c.Index < o.Messages % chats.Length ? 1 : 0)).ToArray();
        var fillStarted = Stopwatch.GetTimestamp();
        await using (ctx.Progress.Every(FillStatus(tracker, window, o.Messages)))
        {
            if (o.SendViaRest) await FillRestAsync(ctx, tracker, chats, quota);
            else await FillWebSocketAsync(ctx, tracker, chats, quota);
        }
        var fillSeconds = Stopwatch.GetElapsedTime(fillStarted).TotalSeconds;
        var fillUse = window.Finish();
        ctx.Progress.Say($"{tracker.Stored:N0} messages stored in {fillSeconds:F1} s ({tracker.Stored / fillSeconds:N0}/s)");
        report.Sent = tracker.Sent;
        report.Stored = tracker.Stored;
        report.SendErrors = tracker.SendErrors;
        report.Unacked = tracker.Unacked;
        report.SendRate = Math.Round(tracker.Stored / fillSeconds, 1);
        report.AckLatency = tracker.AckLatency.Count > 0 ? tracker.AckLatency.Summary() : null;
        var fillErrors = tracker.ErrorCounts();
        if (fillErrors.Count > 0) report.Errors = new Dictionary<string, long>(fillErrors);
        report.Figures["fill: messages stored per second"] = Math.Round(tracker.Stored / fillSeconds, 1);
        report.Figures["fill: seconds"] = Math.Round(fillSeconds, 2);
        report.Figures["fill: generator CPU %"] = fillUse.GeneratorCpuPercent;
        if (fillUse.Server is { } fs)
        {
            report.Figures["fill: server CPU %"] = fs.CpuPercent;
            if (tracker.Stored > 0) report.Figures["fill: server CPU per message stored (µs)"] = Math.Round(fs.CpuSeconds * 1e6 / tracker.Stored, 1);
        }
        if (tracker.Stored > 0) report.Figures["fill: generator CPU per message stored (µs)"] = Math.Round(fillUse.GeneratorCpuSeconds * 1e6 / tracker.Stored, 1);

        var storedSeqs = chats.Select(c => c.Stored().Select(s => s.Seq).ToHashSet()).ToArray();
        report.Expected = storedSeqs.Sum(s => (long)s.Count) * 2; // each message once by history, once by sync

        var runtimeBefore = ServerRuntime.Parse(await ctx.Api.GetMetricsTextAsync(ctx.Cancel));
        var readWindow = ctx.Monitor.StartWindow();
        var readsStarted = Stopwatch.GetTimestamp();
        report.Timings = new Dictionary<string, LatencySummary>();
        var pageKeys = new List<(int Chat, string? Key)>();
        var walk = new Histogram();
        var (delivered, duplicates) = await WalkAsync(ctx, "history walk", chats.Length, walk, pageKeys, storedSeqs,
            (i, key) => $"/chats/{Uri.EscapeDataString(chats[i].Id)}/messages?limit={o.PageSize}" + (key is null ? "" : "&lastKey=" + Uri.EscapeDataString(key)),
            i => readers[i], i => null, ParseHistoryPage);
        report.Timings["history page, walking each chat"] = walk.Summary();
        report.Delivered += delivered;
        report.Duplicates += duplicates;

        var random = new Histogram();
        await RandomReadsAsync(ctx, "history page at random", pageKeys, random,
            k => $"/chats/{Uri.EscapeDataString(chats[k.Chat].Id)}/messages?limit={o.PageSize}" + (k.Key is null ? "" : "&lastKey=" + Uri.EscapeDataString(k.Key)),
            k => readers[k.Chat]);
        report.Timings[$"history page at random, {o.Concurrency} readers"] = random.Summary();
        var single = new Histogram();
        await RandomReadsAsync(ctx, "history page at random, one reader", pageKeys, single,
            k => $"/chats/{Uri.EscapeDataString(chats[k.Chat].Id)}/messages?limit={o.PageSize}" + (k.Key is null ? "" : "&lastKey=" + Uri.EscapeDataString(k.Key)),
            k => readers[k.Chat], readers: 1, count: Math.Min(o.Reads, 2000));
        report.Timings["history page at random, one reader"] = single.Summary();

        var syncKeys = new List<(int Chat, string? Key)>();
        var syncWalk = new Histogram();
        (delivered, duplicates) = await WalkAsync(ctx, "sync walk", chats.Length, syncWalk, syncKeys, storedSeqs,
            (i, cursor) => $"/sync?limit={o.PageSize}" + (cursor is null ? "" : "&since=" + Uri.EscapeDataString(cursor)),
            i => readers[i], i => cursors0[i], (body, chat) => ParseSyncPage(body, chats[chat].Id));
        report.Timings["sync page, walking from the pre-fill cursor"] = syncWalk.Summary();
        report.Delivered += delivered;
        report.Duplicates += duplicates;

        var syncRandom = new Histogram();
        await RandomReadsAsync(ctx, "sync page at random", syncKeys, syncRandom,
            k => $"/sync?limit={o.PageSize}" + (k.Key is null ? "" : "&since=" + Uri.EscapeDataString(k.Key)),
            k => readers[k.Chat]);
        report.Timings[$"sync page at random, {o.Concurrency} readers"] = syncRandom.Summary();
        var syncSingle = new Histogram();
        await RandomReadsAsync(ctx, "sync page at random, one reader", syncKeys, syncSingle,
            k => $"/sync?limit={o.PageSize}" + (k.Key is null ? "" : "&since=" + Uri.EscapeDataString(k.Key)),
            k => readers[k.Chat], readers: 1, count: Math.Min(o.Reads, 2000));
        report.Timings["sync page at random, one reader"] = syncSingle.Summary();

        report.Resources = readWindow.Finish();
        var runtimeAfter = ServerRuntime.Parse(await ctx.Api.GetMetricsTextAsync(ctx.Cancel));
        report.DurationSeconds = Math.Round(Stopwatch.GetElapsedTime(readsStarted).TotalSeconds, 2);
        report.Lost = report.Expected - report.Delivered;
        var reads = walk.Count + random.Count + single.Count + syncWalk.Count + syncRandom.Count + syncSingle.Count;
        report.Figures["reads: pages per second"] = Math.Round(reads / report.DurationSeconds, 1);
        report.AddCpuCost("page read", reads);
        report.AddServerRuntime(runtimeBefore, runtimeAfter, "page read", reads);
        report.Notes.Add("delivered/expected here: each stored message must come back exactly once in the history walk and once in the sync walk; CPU and RSS cover the read phase (fill figures are listed separately)");
        report.NoteSaturation();
    }

    private static Func<string> FillStatus(DeliveryTracker tracker, ProcessMonitor.Window window, long total)
    {
        long last = 0;
        var lastTs = Stopwatch.GetTimestamp();
        return () =>
        {
            var now = Stopwatch.GetTimestamp();
            var stored = tracker.Stored;
            var rate = (stored - last) / Math.Max(1e-6, Stopwatch.GetElapsedTime(lastTs, now).TotalSeconds);
            last = stored;
            lastTs = now;
            return $"fill: {stored:N0}/{total:N0} stored ({rate:N0}/s)  ack p99 {tracker.AckLatency.ValueAt(99) / 1000.0:F1} ms  errors {tracker.SendErrors:N0}  " +
                   $"srv CPU {window.RecentServerCpuPercent:F0}%  gen CPU {window.RecentGeneratorCpuPercent:F0}%";
        };
    }

    private static async Task FillWebSocketAsync(BenchContext ctx, DeliveryTracker tracker, ChatState[] chats, long[] quota)
    {
        var o = ctx.Options;
        var conns = chats.Select(c => new WsConnection(c.Members[0], ctx.Api, tracker, o.MessageSize) { AutoResume = true }).ToArray();
        try
        {
            await ctx.FetchInitialCursorsAsync(conns);
            await ctx.ConnectAllAsync(conns, c => c.Cursor, "connecting senders");
            foreach (var c in conns) c.EnableWindow(o.Window);
            await Task.WhenAll(conns.Select((c, i) => Task.Run(async () =>
            {
                for (long n = 0; n < quota[i]; n++)
                {
                    await c.Window!.WaitAsync(ctx.Cancel);
                    c.Enqueue(chats[i], 0);
                }
                while (c.PendingCount > 0 || c.Queued > 0) await Task.Delay(10, ctx.Cancel);
            }, ctx.Cancel)));
        }
        finally
        {
            await BenchContext.CloseAllAsync(conns);
        }
    }

    private static async Task FillRestAsync(BenchContext ctx, DeliveryTracker tracker, ChatState[] chats, long[] quota)
    {
        var o = ctx.Options;
        var work = chats.SelectMany((c, i) => Enumerable.Range(0, (int)quota[i]).Select(n => (Chat: c, N: n)));
        await Parallel.ForEachAsync(work, new ParallelOptions { MaxDegreeOfParallelism = o.SetupConcurrency, CancellationToken = ctx.Cancel }, async (item, ct) =>
        {
            var sender = item.Chat.Members[0];
            var sent = Stopwatch.GetTimestamp();
            tracker.OnSent(sent);
            var seq = await ctx.Api.PostMessageAsync(sender, item.Chat.Id, WsConnection.Content(sent, o.MessageSize), "r" + item.N, ct);
            tracker.AckLatency.RecordTicks(Stopwatch.GetTimestamp() - sent);
            tracker.OnStored(item.Chat, seq, sender);
        });
    }

    /// <summary>Walks pages from a start key until the server says there are no more, for every
    /// chat (C in parallel); times each page and collects the keys; returns (unique stored messages seen, duplicates).</summary>
    private static async Task<(long Unique, long Duplicates)> WalkAsync(
        BenchContext ctx, string what, int chatCount, Histogram timings, List<(int Chat, string? Key)> keys, HashSet<long>[] stored,
        Func<int, string?, string> path, Func<int, BenchUser> reader, Func<int, string?> start, Func<byte[], int, Page> parse)
    {
        long unique = 0, duplicates = 0, pages = 0;
        await using (ctx.Progress.Every(() => $"{what}: {Interlocked.Read(ref pages):N0} pages, p99 {timings.ValueAt(99) / 1000.0:F2} ms"))
        {
            await Parallel.ForAsync(0, chatCount, new ParallelOptions { MaxDegreeOfParallelism = ctx.Options.Concurrency, CancellationToken = ctx.Cancel }, async (i, ct) =>
            {
                var seen = new SeqSet();
                var key = start(i);
                var local = new List<(int, string?)>();
                long u = 0, d = 0;
                for (var guard = 0; guard < 10_000_000; guard++)
                {
                    local.Add((i, key));
                    var t0 = Stopwatch.GetTimestamp();
                    var body = await ctx.Api.GetBytesAsync(path(i, key), reader(i), ct);
                    timings.RecordTicks(Stopwatch.GetTimestamp() - t0);
                    Interlocked.Increment(ref pages);
                    var page = parse(body, i);
                    foreach (var seq in page.Seqs)
                    {
                        if (!stored[i].Contains(seq)) continue;
                        if (seen.Add(seq)) u++;
                        else d++;
                    }
                    if (page.Next is null || !page.More) break;
                    key = page.Next;
                }
                Interlocked.Add(ref unique, u);
                Interlocked.Add(ref duplicates, d);
                lock (keys) keys.AddRange(local);
            });
        }
        ctx.Progress.Say($"{what}: {pages:N0} pages, {unique:N0} stored messages seen, {duplicates:N0} twice; p50 {timings.ValueAt(50) / 1000.0:F2} ms, p99 {timings.ValueAt(99) / 1000.0:F2} ms");
        return (unique, duplicates);
    }

    private static async Task RandomReadsAsync(BenchContext ctx, string what, List<(int Chat, string? Key)> keys, Histogram timings,
        Func<(int Chat, string? Key), string> path, Func<(int Chat, string? Key), BenchUser> reader, int? readers = null, int? count = null)
    {
        var reads = count ?? ctx.Options.Reads;
        if (keys.Count == 0 || reads <= 0) return;
        var random = new Random(ctx.Options.Seed);
        var picks = Enumerable.Range(0, reads).Select(_ => keys[random.Next(keys.Count)]).ToArray();
        var done = 0;
        await using (ctx.Progress.Every(() => $"{what}: {Volatile.Read(ref done):N0}/{picks.Length:N0}, p99 {timings.ValueAt(99) / 1000.0:F2} ms"))
        {
            await Parallel.ForAsync(0, picks.Length, new ParallelOptions { MaxDegreeOfParallelism = readers ?? ctx.Options.Concurrency, CancellationToken = ctx.Cancel }, async (i, ct) =>
            {
                var t0 = Stopwatch.GetTimestamp();
                await ctx.Api.GetBytesAsync(path(picks[i]), reader(picks[i]), ct);
                timings.RecordTicks(Stopwatch.GetTimestamp() - t0);
                Interlocked.Increment(ref done);
            });
        }
        ctx.Progress.Say($"{what}: {picks.Length:N0} reads, p50 {timings.ValueAt(50) / 1000.0:F2} ms, p99 {timings.ValueAt(99) / 1000.0:F2} ms");
    }

    private readonly record struct Page(List<long> Seqs, string? Next, bool More);

    /// <summary><c>{messages:[{seq,...}], lastKey}</c>, newest first; lastKey null at the end.</summary>
    private static Page ParseHistoryPage(byte[] body, int chat)
    {
        using var doc = JsonDocument.Parse(body);
        var seqs = new List<long>();
        foreach (var m in doc.RootElement.GetProperty("messages").EnumerateArray())
        {
            if (m.TryGetProperty("seq", out var seq)) seqs.Add(seq.GetInt64());
        }
        var next = ApiClient.RawValue(doc.RootElement, "lastKey");
        return new Page(seqs, next, next is not null && seqs.Count > 0);
    }

    /// <summary><c>{events:[{type,data,cursor}], cursor, hasMore}</c>: the seqs of message events in the chat.</summary>
    private static Page ParseSyncPage(byte[] body, string chatId)
    {
        using var doc = JsonDocument.Parse(body);
        var seqs = new List<long>();
        foreach (var e in doc.RootElement.GetProperty("events").EnumerateArray())
        {
            if (e.TryGetProperty("type", out var type) && type.ValueEquals("message")
                && e.TryGetProperty("data", out var data) && data.TryGetProperty("chatId", out var chat) && chat.ValueEquals(chatId)
                && data.TryGetProperty("seq", out var seq))
            {
                seqs.Add(seq.GetInt64());
            }
        }
        var more = doc.RootElement.TryGetProperty("hasMore", out var hasMore) && hasMore.ValueKind == JsonValueKind.True;
        return new Page(seqs, ApiClient.RawValue(doc.RootElement, "cursor"), more);
    }
}
