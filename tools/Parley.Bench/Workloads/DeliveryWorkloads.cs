using System.Diagnostics;
using Parley.Bench.Infrastructure;

namespace Parley.Bench.Workloads;

/// <summary>pairs and group: users online, messages offered at a rate (or as fast as acks come
/// back), every delivery checked and timed.</summary>
internal static class DeliveryWorkloads
{
    public static async Task PairsAsync(BenchContext ctx, BenchReport report)
    {
        var o = ctx.Options;
        report.Parameters["users"] = o.Users;
        report.Parameters["rate"] = o.Rate;
        if (o.Rate is null) report.Parameters["window"] = o.Window;
        report.Parameters["duration"] = o.DurationSeconds;
        report.Parameters["warmup"] = o.WarmupSeconds;
        report.Parameters["size"] = o.MessageSize;
        if (o.DeletesPerSecond > 0) report.Parameters["deletes per second"] = o.DeletesPerSecond;
        if (o.OneWay) report.Parameters["senders per pair"] = 1;

        var users = await ctx.CreateUsersAsync(o.Users, report);
        var chats = await ctx.CreatePairChatsAsync(users, report);
        await using var deletes = o.DeletesPerSecond > 0 ? await BackgroundDeletes.StartAsync(ctx, report) : null;
        var tracker = new DeliveryTracker();
        var conns = users.Select(u => new WsConnection(u, ctx.Api, tracker, o.MessageSize) { AutoResume = true }).ToArray();
        var senders = new List<(WsConnection, ChatState)>();
        foreach (var chat in chats)
        {
            foreach (var member in chat.Members)
            {
                conns[member.Index].Track(chat);
                // One way: the chat's first member sends, the second only receives.
                if (!o.OneWay || member == chat.Members[0]) senders.Add((conns[member.Index], chat));
            }
        }
        await RunAsync(ctx, report, tracker, conns, chats, senders);
    }

    public static async Task GroupAsync(BenchContext ctx, BenchReport report)
    {
        var o = ctx.Options;
        report.Parameters["members"] = o.Users;
        report.Parameters["senders"] = o.Senders;
        report.Parameters["rate"] = o.Rate;
        if (o.Rate is null) report.Parameters["window"] = o.Window;
        report.Parameters["duration"] = o.DurationSeconds;
        report.Parameters["warmup"] = o.WarmupSeconds;
        report.Parameters["size"] = o.MessageSize;

        var users = await ctx.CreateUsersAsync(o.Users, report);
        var started = Stopwatch.GetTimestamp();
        // Member lists go in chunks so no request body nears the 64 KiB limit.
        const int chunk = 400;
        var others = users.Skip(1).Select(u => u.Id).ToArray();
        var groupId = await ctx.Api.CreateGroupAsync(users[0], $"bench {ctx.RunId}", others.Take(chunk), ctx.Cancel);
        for (var at = chunk; at < others.Length; at += chunk)
        {
            await ctx.Api.AddGroupMembersAsync(users[0], groupId, others.Skip(at).Take(chunk), ctx.Cancel);
        }
        report.SetupSeconds += Stopwatch.GetElapsedTime(started).TotalSeconds;
        ctx.Progress.Say($"group of {users.Length:N0} created in {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s");

        var chat = new ChatState(0, groupId, users);
        var tracker = new DeliveryTracker();
        var conns = users.Select(u => new WsConnection(u, ctx.Api, tracker, o.MessageSize) { AutoResume = true }).ToArray();
        foreach (var c in conns) c.Track(chat);
        var senders = conns.Take(o.Senders).Select(c => (c, chat)).ToList();
        await RunAsync(ctx, report, tracker, conns, [chat], senders);
    }

    private static async Task RunAsync(BenchContext ctx, BenchReport report, DeliveryTracker tracker, WsConnection[] conns, ChatState[] chats, List<(WsConnection Conn, ChatState Chat)> senders)
    {
        var o = ctx.Options;
        try
        {
            await ctx.FetchInitialCursorsAsync(conns);
            var connectSeconds = await ctx.ConnectAllAsync(conns, c => c.Cursor, "connecting");
            report.SetupSeconds += connectSeconds;
            ctx.Progress.Say($"{conns.Length:N0} sockets open in {connectSeconds:F1} s");
            // Let the presence and chat frames of the connection burst pass before measuring.
            await Task.Delay(500, ctx.Cancel);
            report.Figures["presence frames received while connecting"] = tracker.Frames(FrameType.Presence);

            if (o.Rate is null)
            {
                foreach (var c in senders.Select(s => s.Conn).Distinct()) c.EnableWindow(o.Window);
            }
            var senderConns = senders.Select(s => s.Conn).Distinct().ToList();
            if (o.WarmupSeconds > 0)
            {
                // The same load, uncounted: a fresh server JIT-compiles its hot paths in the first
                // seconds, which would otherwise be billed to the measurement.
                var warm = ctx.Monitor.StartWindow();
                await using (ctx.Progress.Every(() => "warm-up: " + BenchContext.DeliveryStatus(tracker, warm)()))
                {
                    if (o.Rate is { } warmRate) await ctx.RunOpenLoopAsync(senders, warmRate, o.WarmupSeconds, ctx.Cancel);
                    else await BenchContext.RunClosedLoopAsync(senders, o.WarmupSeconds, ctx.Cancel);
                    await tracker.DrainAsync(senderConns, TimeSpan.FromSeconds(o.DrainSeconds), ctx.Cancel);
                }
                var warmLost = tracker.CountLost(chats);
                var warmDuplicates = tracker.Duplicates;
                ctx.Progress.Say($"warm-up: {tracker.Stored:N0} messages, {tracker.UniqueDelivered:N0} deliveries, {warmLost:N0} lost, {warmDuplicates:N0} duplicated");
                if (warmLost > 0 || warmDuplicates > 0) report.Notes.Add($"during the warm-up: {warmLost:N0} deliveries lost, {warmDuplicates:N0} duplicated");
                report.Lost += warmLost;
                report.Duplicates += warmDuplicates;
                tracker.Reset(chats);
            }
            // The server's /metrics, read once at each end of the measured phase.
            var metricsBefore = await ctx.Api.GetMetricsTextAsync(ctx.Cancel);
            var window = ctx.Monitor.StartWindow();
            var started = Stopwatch.GetTimestamp();
            await using (ctx.Progress.Every(BenchContext.DeliveryStatus(tracker, window)))
            {
                if (o.Rate is { } rate) await ctx.RunOpenLoopAsync(senders, rate, o.DurationSeconds, ctx.Cancel);
                else await BenchContext.RunClosedLoopAsync(senders, o.DurationSeconds, ctx.Cancel);
                var sendSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                report.SendRate = Math.Round(tracker.Sent / sendSeconds, 1);
                var drained = await tracker.DrainAsync(senderConns, TimeSpan.FromSeconds(o.DrainSeconds), ctx.Cancel);
                if (!drained) report.Notes.Add($"the drain ended with deliveries missing: nothing arrived for {o.DrainSeconds:F0} s");
            }
            foreach (var c in conns) c.Freeze();
            report.Resources = window.Finish();
            var metricsAfter = await ctx.Api.GetMetricsTextAsync(ctx.Cancel);
            report.AddStoreTransactions(StoreTransactions.Parse(metricsBefore), StoreTransactions.Parse(metricsAfter));
            var first = tracker.FirstSendTimestamp == 0 ? started : tracker.FirstSendTimestamp;
            var last = Math.Max(tracker.LastDeliveryTimestamp, first + 1);
            report.DurationSeconds = Math.Round(Stopwatch.GetElapsedTime(started).TotalSeconds, 2);
            report.OfferedRate = o.Rate;
            report.FillFrom(tracker, conns);
            report.DeliveredPerSecond = Math.Round(tracker.UniqueDelivered / Stopwatch.GetElapsedTime(first, last).TotalSeconds, 1);
            report.Lost += tracker.CountLost(chats);
            report.AddCpuCost("message stored", report.Stored);
            report.AddServerRuntime(ServerRuntime.Parse(metricsBefore), ServerRuntime.Parse(metricsAfter), "message stored", report.Stored);
            if (chats.Length == 1) report.AddCpuCost("delivery", report.Delivered);
            report.NoteSaturation();
        }
        finally
        {
            await BenchContext.CloseAllAsync(conns);
        }
    }
}
