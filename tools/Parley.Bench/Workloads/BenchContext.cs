using System.Diagnostics;
using Parley.Bench.Infrastructure;

namespace Parley.Bench.Workloads;

/// <summary>What every workload needs: options, the REST client, progress output, the process
/// monitor, and the shared setup steps (users, 1:1 chats, connecting sockets).</summary>
internal sealed class BenchContext(BenchOptions options, ApiClient api, ProgressLine progress, ProcessMonitor monitor, CancellationToken ct)
{
    public BenchOptions Options { get; } = options;
    public ApiClient Api { get; } = api;
    public ProgressLine Progress { get; } = progress;
    public ProcessMonitor Monitor { get; } = monitor;
    public CancellationToken Cancel { get; } = ct;
    /// <summary>Makes this run's emails unique, so runs can share a server.</summary>
    public string RunId { get; } = Guid.NewGuid().ToString("N")[..10];

    /// <summary>Registers and signs in <paramref name="count"/> users in parallel.</summary>
    public async Task<BenchUser[]> CreateUsersAsync(int count, BenchReport report)
    {
        var users = new BenchUser[count];
        var started = Stopwatch.GetTimestamp();
        var done = 0;
        await using (Progress.Every(() => $"setup: {Volatile.Read(ref done):N0}/{count:N0} users registered and signed in"))
        {
            await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = Options.SetupConcurrency, CancellationToken = Cancel }, async (i, ct) =>
            {
                users[i] = await Api.CreateUserAsync(i, RunId, ct);
                Interlocked.Increment(ref done);
            });
        }
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        report.Users = count;
        report.SetupSeconds += seconds;
        report.UsersPerSecond = Math.Round(count / Math.Max(seconds, 1e-6), 1);
        Progress.Say($"{count:N0} users registered and signed in in {seconds:F1} s ({report.UsersPerSecond:N0}/s)");
        return users;
    }

    /// <summary>Pairs users (0,1), (2,3)... in 1:1 chats; the chat at index i belongs to users 2i and 2i+1.</summary>
    public async Task<ChatState[]> CreatePairChatsAsync(BenchUser[] users, BenchReport report)
    {
        var chats = new ChatState[users.Length / 2];
        var started = Stopwatch.GetTimestamp();
        await Parallel.ForAsync(0, chats.Length, new ParallelOptions { MaxDegreeOfParallelism = Options.SetupConcurrency, CancellationToken = Cancel }, async (i, ct) =>
        {
            var a = users[2 * i];
            var b = users[2 * i + 1];
            var id = await Api.CreateDirectChatAsync(a, b, ct);
            chats[i] = new ChatState(i, id, [a, b]);
        });
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        report.SetupSeconds += seconds;
        Progress.Say($"{chats.Length:N0} 1:1 chats created in {seconds:F1} s");
        return chats;
    }

    /// <summary>Reads each user's current sync cursor, so a socket the server closes can resume
    /// from it even before its first event.</summary>
    public async Task FetchInitialCursorsAsync(IReadOnlyList<WsConnection> connections)
    {
        await Parallel.ForAsync(0, connections.Count, new ParallelOptions { MaxDegreeOfParallelism = Options.SetupConcurrency, CancellationToken = Cancel }, async (i, ct) =>
        {
            connections[i].SetInitialCursor(await Api.CurrentCursorAsync(connections[i].User, ct));
        });
    }

    /// <summary>Opens every connection (bounded concurrency); returns the seconds it took.</summary>
    public async Task<double> ConnectAllAsync(IReadOnlyList<WsConnection> connections, Func<WsConnection, string?> since, string what)
    {
        var started = Stopwatch.GetTimestamp();
        var done = 0;
        await using (Progress.Every(() => $"{what}: {Volatile.Read(ref done):N0}/{connections.Count:N0} sockets open"))
        {
            await Parallel.ForAsync(0, connections.Count, new ParallelOptions { MaxDegreeOfParallelism = Options.ConnectConcurrency, CancellationToken = Cancel }, async (i, ct) =>
            {
                await connections[i].ConnectAsync(since(connections[i]), ct);
                Interlocked.Increment(ref done);
            });
        }
        return Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    public static async Task CloseAllAsync(IEnumerable<WsConnection> connections)
    {
        await Parallel.ForEachAsync(connections, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (c, _) =>
        {
            await c.CloseAsync(TimeSpan.FromSeconds(2));
            await c.DisposeAsync();
        });
    }

    /// <summary>Offers messages at <paramref name="rate"/> per second for <paramref name="seconds"/>,
    /// round-robin over the senders (open loop: the schedule does not wait for the server). Each
    /// send carries its intended time, so a generator falling behind shows as send lag.</summary>
    public async Task RunOpenLoopAsync(IReadOnlyList<(WsConnection Conn, ChatState Chat)> senders, double rate, double seconds, CancellationToken stop)
    {
        var start = Stopwatch.GetTimestamp();
        var ticksPerMessage = Stopwatch.Frequency / rate;
        long issued = 0;
        var next = 0;
        while (!stop.IsCancellationRequested)
        {
            var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (elapsed >= seconds) break;
            var due = (long)(elapsed * rate) + 1;
            while (issued < due)
            {
                var (conn, chat) = senders[next];
                next = next + 1 == senders.Count ? 0 : next + 1;
                conn.Enqueue(chat, start + (long)(issued * ticksPerMessage));
                issued++;
            }
            try
            {
                await Task.Delay(1, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>Closed loop: each sender keeps <see cref="BenchOptions.Window"/> sends unacknowledged,
    /// sending the next as soon as one is acknowledged, until the time is up.</summary>
    public static async Task RunClosedLoopAsync(IReadOnlyList<(WsConnection Conn, ChatState Chat)> senders, double seconds, CancellationToken stop)
    {
        using var timeUp = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeUp.CancelAfter(TimeSpan.FromSeconds(seconds));
        await Task.WhenAll(senders.Select(s => Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    await s.Conn.Window!.WaitAsync(timeUp.Token);
                    s.Conn.Enqueue(s.Chat, 0);
                }
            }
            catch (OperationCanceledException)
            {
            }
        })));
    }

    /// <summary>The progress text of a delivery workload.</summary>
    public static Func<string> DeliveryStatus(DeliveryTracker tracker, ProcessMonitor.Window window)
    {
        long lastDelivered = 0;
        long lastSent = 0;
        var lastTs = Stopwatch.GetTimestamp();
        return () =>
        {
            var now = Stopwatch.GetTimestamp();
            var dt = Math.Max(1e-6, Stopwatch.GetElapsedTime(lastTs, now).TotalSeconds);
            var delivered = tracker.UniqueDelivered;
            var sent = tracker.Sent;
            var text = $"sent {sent:N0} ({(sent - lastSent) / dt:N0}/s)  delivered {delivered:N0} ({(delivered - lastDelivered) / dt:N0}/s)  " +
                       $"p99 {tracker.EndToEnd.ValueAt(99) / 1000.0:F1} ms  errors {tracker.SendErrors:N0}  dup {tracker.Duplicates:N0}  " +
                       $"srv CPU {window.RecentServerCpuPercent:F0}%  gen CPU {window.RecentGeneratorCpuPercent:F0}%";
            lastDelivered = delivered;
            lastSent = sent;
            lastTs = now;
            return text;
        };
    }
}
