using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Parley.Testing;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Cluster;

/// <summary>
/// A Parley node in a process of its own (<c>dotnet Parley.Server.dll --urls ...</c>) on a
/// PostgreSQL database or on DynamoDB tables, for tests that need several nodes, or a node killed
/// with SIGKILL.
/// </summary>
public sealed class NodeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output;

    private NodeProcess(Process process, StringBuilder output, string nodeId, ParleyServer server)
    {
        _process = process;
        _output = output;
        NodeId = nodeId;
        Server = server;
    }

    public string NodeId { get; }
    /// <summary>The node's address, usable with the suite's HTTP and WebSocket helpers.</summary>
    public ParleyServer Server { get; }
    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>Waits for a line the node logs: its logger writes in the background and its output
    /// is read as it comes, so a line can arrive after what the node did next.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!Output.Contains(text, StringComparison.Ordinal) && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.Contains(text, Output);
    }

    /// <summary>Settings that keep the tests quick: cheap password hashes, a short presence grace,
    /// and a fast heartbeat with a short expiry so a killed node is noticed within seconds.</summary>
    private static readonly Dictionary<string, string> Defaults = new()
    {
        ["Parley__Realtime__TypingSeconds"] = "3",
        ["Parley__Auth__PasswordIterations"] = "1000",
        ["Parley__Auth__AttemptsPerIpPerMinute"] = "100000",
        ["Parley__Auth__AttemptsPerAccountPer15Minutes"] = "1000",
        ["Parley__Limits__MessagesPerSecond"] = "1000",
        ["Parley__Limits__FramesPerSecond"] = "1000",
        ["Parley__Realtime__PresenceGraceSeconds"] = "1",
        ["Parley__Cluster__HeartbeatSeconds"] = "1",
        ["Parley__Cluster__ConnectionTtlSeconds"] = "4",
        ["Logging__LogLevel__Default"] = "Warning",
        ["Logging__LogLevel__Parley.Server.Realtime.Cluster"] = "Information",
        ["Logging__LogLevel__Parley.Server.Realtime.Bus"] = "Information",
    };

    /// <param name="store">Where the node keeps its data: <paramref name="address"/> is a PostgreSQL
    /// connection string, or the prefix of the DynamoDB tables.</param>
    /// <param name="cluster">Names the cluster on a shared Redis (its channel and key prefix).</param>
    /// <param name="settings">Environment settings over the defaults (<c>Parley__Limits__...</c>).</param>
    public static async Task<NodeProcess> StartAsync(string address, string nodeId, ClusterBus bus = ClusterBus.Postgres, string? cluster = null,
        ClusterStore store = ClusterStore.Postgres, IReadOnlyDictionary<string, string>? settings = null)
    {
        // A port found free can be taken by someone else before the node binds it: try another.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnceAsync(address, store, nodeId, bus, cluster ?? address.GetHashCode().ToString("x"), settings);
            }
            catch (PortTakenException) when (attempt < 5)
            {
            }
        }
    }

    /// <summary>A server alone in a process of its own, on a SQLite file of its own.</summary>
    public static Task<NodeProcess> StartAloneAsync(string nodeId, IReadOnlyDictionary<string, string>? settings = null) =>
        StartAsync("", nodeId, store: ClusterStore.Sqlite, settings: settings);

    private sealed class PortTakenException(string message) : Exception(message);

    private static async Task<NodeProcess> StartOnceAsync(string address, ClusterStore store, string nodeId, ClusterBus bus, string cluster,
        IReadOnlyDictionary<string, string>? settings)
    {
        var port = FreePort();
        var dll = ServerDll();
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{port}");
        foreach (var (key, value) in Defaults) start.Environment[key] = value;
        foreach (var (key, value) in settings ?? new Dictionary<string, string>()) start.Environment[key] = value;
        var dataDirectory = Path.Combine(Path.GetTempPath(), "parley-tests", "node-" + Guid.NewGuid().ToString("N"));
        start.Environment["Parley__DataDirectory"] = dataDirectory;
        if (store == ClusterStore.DynamoDb)
        {
            foreach (var (key, value) in TestDynamo.Settings(address)) start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
            // So the suite's readers of a server's tables (ServerDynamo) find this node's.
            Directory.CreateDirectory(dataDirectory);
            await File.WriteAllTextAsync(Path.Combine(dataDirectory, TestDynamo.MarkerFile), address);
        }
        else if (store == ClusterStore.Postgres)
        {
            start.Environment["Parley__Storage__Provider"] = "Postgres";
            start.Environment["Parley__Storage__ConnectionString"] = address;
        }
        start.Environment["Parley__NodeId"] = nodeId;
        if (store != ClusterStore.Sqlite)
        {
            start.Environment["Parley__Cluster__Bus"] = bus.ToString();
            if (bus == ClusterBus.Redis) start.Environment["Parley__Cluster__RedisConnection"] = TestRedis.ConnectionFor(cluster);
        }

        var output = new StringBuilder();
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var node = new NodeProcess(process, output, nodeId, ParleyServer.Attach(new Uri($"http://127.0.0.1:{port}"), dataDirectory));

        using var http = new HttpClient { BaseAddress = node.Server.BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(180))
        {
            if (process.HasExited) break;
            try
            {
                if ((await http.GetAsync("/health")).StatusCode == HttpStatusCode.OK) return node;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }
            await Task.Delay(100);
        }
        var log = node.Output;
        await node.DisposeAsync();
        if (log.Contains("address already in use", StringComparison.OrdinalIgnoreCase)) throw new PortTakenException(log);
        throw new InvalidOperationException($"Node {nodeId} did not become healthy. Its output:\n{log}");
    }

    /// <summary>SIGTERM, as a service manager stops a node: the host shuts down in order. Returns its exit code.</summary>
    public async Task<int> StopAsync()
    {
        if (!_process.HasExited)
        {
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            await _process.WaitForExitAsync(timeout.Token);
        }
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no shutdown code runs, so the node's rows stay until they expire.</summary>
    public async Task KillAsync()
    {
        if (_process.HasExited) return;
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        _process.Dispose();
        try { Directory.Delete(Server.DataDirectory, recursive: true); } catch (IOException) { /* best effort */ }
    }

    /// <summary>A free port below the ephemeral range, so other programs' outgoing connections do not grab it.</summary>
    private static int FreePort()
    {
        for (var i = 0; i < 100; i++)
        {
            var port = Random.Shared.Next(20_000, 32_000);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // Taken; try another.
            }
        }
        using var any = new TcpListener(IPAddress.Loopback, 0);
        any.Start();
        return ((IPEndPoint)any.LocalEndpoint).Port;
    }

    /// <summary>Runs a command of the server in its own process on the same store as <paramref name="server"/>.</summary>
    internal static async Task<(int ExitCode, string Output)> RunCommandOnAsync(ParleyServer server, params string[] args)
    {
        var settings = await TestBackend.SettingsForAsync(server.DataDirectory);
        settings["Parley:DataDirectory"] = server.DataDirectory;
        return await RunCommandAsync(null, [.. args, .. settings.Select(s => $"--{s.Key}={s.Value}")]);
    }

    /// <summary>Runs a command of the server (<c>backup</c>, <c>tables create</c>) to its end: its exit code and output.</summary>
    internal static async Task<(int ExitCode, string Output)> RunCommandAsync(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(ServerDll());
        foreach (var arg in args) start.ArgumentList.Add(arg);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output + await error);
    }

    /// <summary>The server built beside this test assembly (same configuration: Debug or Release).</summary>
    internal static string ServerDll()
    {
        var testDirectory = AppContext.BaseDirectory;
        var configuration = testDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var root = new DirectoryInfo(testDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Parley.slnx"))) root = root.Parent;
        var candidates = new List<string>();
        if (root is not null) candidates.Add(Path.Combine(root.FullName, "src", "Parley.Server", "bin", configuration, "net10.0", "Parley.Server.dll"));
        candidates.Add(Path.Combine(testDirectory, "Parley.Server.dll"));
        return candidates.FirstOrDefault(File.Exists) ?? throw new FileNotFoundException("Parley.Server.dll not found; build the solution first.", candidates[0]);
    }
}

/// <summary>A fresh database (or fresh DynamoDB tables) and two nodes on it, talking over
/// <see cref="Bus"/>, shared by a test class.</summary>
public abstract class TwoNodes : IAsyncLifetime
{
    private string? _database;

    public abstract ClusterBus Bus { get; }
    public virtual ClusterStore Store => ClusterStore.Postgres;
    public NodeProcess One { get; private set; } = null!;
    public NodeProcess Two { get; private set; } = null!;
    public string ConnectionString { get; private set; } = "";
    /// <summary>The cluster's name on a shared Redis (its channel and key prefix).</summary>
    public string Cluster { get; private set; } = "";

    public async Task InitializeAsync()
    {
        if (ClusterSkip.Reason(Store, Bus) is not null) return; // every test of the class is skipped
        string address;
        if (Store == ClusterStore.DynamoDb)
        {
            address = TestDynamo.NewPrefix();
        }
        else
        {
            _database = await TestPostgres.CreateDatabaseAsync();
            address = ConnectionString = TestPostgres.ConnectionStringFor(_database);
        }
        // Both at once: migrations (or tables) and the signing key must be safe when nodes start together.
        Cluster = _database ?? address;
        var nodes = await Task.WhenAll(NodeProcess.StartAsync(address, "node-one", Bus, Cluster, Store), NodeProcess.StartAsync(address, "node-two", Bus, Cluster, Store));
        One = nodes[0];
        Two = nodes[1];
    }

    /// <summary>How many writers of the event stream are held (their lease running) now.</summary>
    public async Task<int> WritersHeldAsync()
    {
        if (Store == ClusterStore.DynamoDb)
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            return ServerDynamo.Scan(One.Server, Parley.Server.Storage.DynamoDb.DynamoTables.Records)
                .Count(i => i["pk"].S == "writers" && long.Parse(i["leaseUntil"].N, System.Globalization.CultureInfo.InvariantCulture) > now);
        }
        await using var db = new Npgsql.NpgsqlConnection(ConnectionString);
        await db.OpenAsync();
        await using var held = new Npgsql.NpgsqlCommand("SELECT count(*) FROM stream WHERE owner IS NOT NULL", db);
        return (int)(long)(await held.ExecuteScalarAsync())!;
    }

    public async Task DisposeAsync()
    {
        if (One is not null) await One.DisposeAsync();
        if (Two is not null) await Two.DisposeAsync();
        if (_database is not null) await TestPostgres.DropDatabaseAsync(_database);
    }
}

public sealed class TwoNodesOnPostgresBus : TwoNodes
{
    public override ClusterBus Bus => ClusterBus.Postgres;
}

public sealed class TwoNodesOnRedisBus : TwoNodes
{
    public override ClusterBus Bus => ClusterBus.Redis;
}

public sealed class TwoNodesOnDynamoDb : TwoNodes
{
    public override ClusterBus Bus => ClusterBus.Redis;
    public override ClusterStore Store => ClusterStore.DynamoDb;
}
