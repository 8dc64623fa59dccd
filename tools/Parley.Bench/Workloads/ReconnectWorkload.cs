using System.Diagnostics;
using Parley.Bench.Infrastructure;

namespace Parley.Bench.Workloads;

/// <summary>reconnect: live pair traffic, then every socket drops at once (no close handshake,
/// messages still in flight); while everyone is offline more messages are sent over REST; then
/// every client comes back with <c>since</c> = the cursor of the last event it saw. Measures how
/// long until every missed message is delivered, and checks none is lost or duplicated.</summary>
internal static class ReconnectWorkload
{
    public static async Task RunAsync(BenchContext ctx, BenchReport report)
    {
        var o = ctx.Options;
        report.Parameters["users"] = o.Users;
        report.Parameters["rate"] = o.Rate;
        report.Parameters["duration"] = o.DurationSeconds;
        report.Parameters["offlineMessages"] = o.OfflineMessages;

        var users = await ctx.CreateUsersAsync(o.Users, report);
        var chats = await ctx.CreatePairChatsAsync(users, report);
        var tracker = new DeliveryTracker();
        var conns = users.Select(u => new WsConnection(u, ctx.Api, tracker, o.MessageSize)).ToArray();
        var senders = new List<(WsConnection, ChatState)>();
        foreach (var chat in chats)
        {
            foreach (var member in chat.Members)
            {
                conns[member.Index].Track(chat);
                senders.Add((conns[member.Index], chat));
            }
        }
        try
        {
            await ctx.FetchInitialCursorsAsync(conns);
            var connectSeconds = await ctx.ConnectAllAsync(conns, c => c.Cursor, "connecting");
            report.SetupSeconds += connectSeconds;
            ctx.Progress.Say($"{conns.Length:N0} sockets open in {connectSeconds:F1} s");
            await Task.Delay(500, ctx.Cancel);

            var window = ctx.Monitor.StartWindow();
            var started = Stopwatch.GetTimestamp();
            await using (ctx.Progress.Every(BenchContext.DeliveryStatus(tracker, window)))
            {
                await ctx.RunOpenLoopAsync(senders, o.Rate!.Value, o.DurationSeconds, ctx.Cancel);
                // Let the writers empty their queues, so every frame is on the wire, then drop
                // everything while acks and deliveries are still in flight.
                var flushDeadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency;
                while (conns.Any(c => c.Queued > 0) && Stopwatch.GetTimestamp() < flushDeadline) await Task.Delay(5, ctx.Cancel);
            }
            report.SendRate = Math.Round(tracker.Sent / Stopwatch.GetElapsedTime(started).TotalSeconds, 1);
            var liveDelivered = tracker.UniqueDelivered;
            tracker.RecordLatency = false;
            foreach (var c in conns) c.Abort();
            await Task.WhenAll(conns.Select(c => c.Stopped));
            await ResolveUnackedAsync(ctx, conns, chats);
            ctx.Progress.Say($"all {conns.Length:N0} sockets dropped; {tracker.Stored:N0} stored, {liveDelivered:N0} of {tracker.Expected:N0} deliveries made live");

            // Everyone offline: each user sends over REST.
            var offlineStarted = Stopwatch.GetTimestamp();
            await Parallel.ForAsync(0, users.Length * o.OfflineMessages, new ParallelOptions { MaxDegreeOfParallelism = o.SetupConcurrency, CancellationToken = ctx.Cancel }, async (k, ct) =>
            {
                var user = users[k % users.Length];
                var chat = chats[user.Index / 2];
                var content = WsConnection.Content(Stopwatch.GetTimestamp(), o.MessageSize);
                var seq = await ctx.Api.PostMessageAsync(user, chat.Id, content, $"r{k / users.Length}", ct);
                tracker.OnStored(chat, seq, user);
            });
            var missed = tracker.CountLost(chats);
            ctx.Progress.Say($"{users.Length * o.OfflineMessages:N0} messages sent over REST while offline in {Stopwatch.GetElapsedTime(offlineStarted).TotalSeconds:F1} s; {missed:N0} deliveries missed");

            // Everyone back at once, each from the cursor of the last event it saw.
            var back = Stopwatch.GetTimestamp();
            var caughtUp = 0L;
            double reconnectSeconds;
            bool drained;
            await using (ctx.Progress.Every(() => $"catching up: {tracker.UniqueDelivered - liveDelivered:N0} of {tracker.Expected - liveDelivered:N0} missed deliveries, dup {tracker.Duplicates:N0}"))
            {
                reconnectSeconds = await ctx.ConnectAllAsync(conns, c => c.Cursor, "reconnecting");
                drained = await tracker.DrainAsync(conns, TimeSpan.FromSeconds(o.DrainSeconds), ctx.Cancel);
                caughtUp = tracker.LastDeliveryTimestamp;
            }
            foreach (var c in conns) c.Freeze();
            if (!drained) report.Notes.Add($"not every missed message arrived after reconnecting: nothing arrived for {o.DrainSeconds:F0} s");
            var catchUpSeconds = drained ? Stopwatch.GetElapsedTime(back, Math.Max(caughtUp, back)).TotalSeconds : double.NaN;

            report.Resources = window.Finish();
            report.DurationSeconds = Math.Round(Stopwatch.GetElapsedTime(started).TotalSeconds, 2);
            report.OfferedRate = o.Rate;
            report.FillFrom(tracker, conns);
            report.Lost = tracker.CountLost(chats);
            report.DeliveredPerSecond = Math.Round(report.Delivered / report.DurationSeconds, 1);
            report.Figures["missed deliveries (owed at reconnect)"] = missed;
            report.Figures["unacked sends found stored (from history)"] = tracker.Resolved;
            report.Figures["reconnect: all sockets open (s)"] = Math.Round(reconnectSeconds, 3);
            report.Figures["reconnect: every missed event delivered (s)"] = Math.Round(catchUpSeconds, 3);
            report.Figures["reconnects per second"] = Math.Round(conns.Length / reconnectSeconds, 1);
            report.AddCpuCost("message stored", report.Stored);
            report.NoteSaturation();
        }
        finally
        {
            await BenchContext.CloseAllAsync(conns);
        }
    }

    /// <summary>Sends caught in the drop have no ack: the chats' newest history tells which the
    /// server stored (by sender and clientMessageId), and with which seq.</summary>
    private static async Task ResolveUnackedAsync(BenchContext ctx, WsConnection[] conns, ChatState[] chats)
    {
        await Task.Delay(500, ctx.Cancel); // frames the server had read before the drop finish storing
        var unknown = conns.SelectMany(c => c.UnknownFate().Select(u => (Conn: c, u.N, u.Chat))).ToList();
        if (unknown.Count == 0) return;
        var byChat = unknown.GroupBy(u => u.Chat).ToList();
        await Parallel.ForEachAsync(byChat, new ParallelOptions { MaxDegreeOfParallelism = ctx.Options.SetupConcurrency, CancellationToken = ctx.Cancel }, async (group, ct) =>
        {
            var chat = group.Key;
            var wanted = group.ToDictionary(u => (u.Conn.User.Id, "b" + u.N.ToString(System.Globalization.CultureInfo.InvariantCulture)), u => u);
            string? key = null;
            for (var page = 0; page < 100 && wanted.Count > 0; page++)
            {
                var body = await ctx.Api.GetBytesAsync($"/chats/{Uri.EscapeDataString(chat.Id)}/messages?limit=100" + (key is null ? "" : "&lastKey=" + Uri.EscapeDataString(key)), chat.Members[0], ct);
                using var doc = System.Text.Json.JsonDocument.Parse(body);
                var any = false;
                foreach (var m in doc.RootElement.GetProperty("messages").EnumerateArray())
                {
                    any = true;
                    if (!m.TryGetProperty("clientMessageId", out var cid) || cid.ValueKind != System.Text.Json.JsonValueKind.String) continue;
                    var id = (m.GetProperty("senderId").GetString()!, cid.GetString()!);
                    if (wanted.Remove(id, out var u)) u.Conn.ResolveUnknown(u.N, m.GetProperty("seq").GetInt64());
                }
                key = ApiClient.RawValue(doc.RootElement, "lastKey");
                if (!any || key is null) break;
            }
        });
    }
}
