using System.Globalization;

namespace Parley.Bench;

/// <summary>Every setting of a benchmark run. <see cref="Parse"/> reads them from the command line;
/// tests build them directly. Defaults are the reference sizes.</summary>
public sealed class BenchOptions
{
    public const string Usage = """
        Parley.Bench: load generator for the Parley chat server (loopback only).

        usage: Parley.Bench <workload> [options]
          workloads: pairs | conns | group | history | reconnect

        common options
          --url URL              server base address (default http://127.0.0.1:8080); must be loopback
          --server-pid PID       server process: its CPU and RSS are read from /proc/PID
          --json                 print the report as JSON on stdout (progress still goes to stderr)
          --json-out FILE        also write the JSON report to FILE
          --quiet                no progress line
          --setup-concurrency N  parallel HTTP requests while registering users (default 32)
          --size BYTES           message content size (default 64, at least 32)
          --drain SECONDS        after sending stops, wait for outstanding acks and deliveries until nothing
                                 has arrived for this long (default 10)
          --timeout SECONDS      hard cap on the whole run (default 900)
          --seed N               random seed (default 1)
          --ws-token query|header  how sockets carry their access token: /ws?token= (default) or the
                                 Authorization header, as a native client may send it

        pairs      U users online in pairs, each sending to its partner
          --users U              default 1000 (even)
          --rate R|max           aggregate messages per second offered (default 5000); max = closed loop
          --window W             with --rate max: unacknowledged sends per user (default 4)
          --duration T           seconds of sending (default 10)
          --warmup T             seconds of the same load before measuring, so the server's JIT has
                                 settled (default 5; counted nowhere)
          --deletes-per-second D  meanwhile, two more users send a message over REST and delete it for
                                 everyone D times a second (default 0): the cost of deletes to the load
          --one-way              only the first user of each pair sends; the other only receives (with
                                 --users 2: one socket's sends, the other socket their recipient)

        conns      idle authenticated WebSockets opened in steps and held
          --steps LIST           cumulative connection counts (default 1000,5000,10000,19000)
          --per-user K           connections per user (default 1; the server's SocketsPerUser must allow K)
          --procs N|auto         generator child processes holding the sockets (auto: one per 8,000; 0 = in-process)
          --connect-concurrency N  concurrent WebSocket handshakes (default 64)
          --settle T             seconds to wait after each step before reading the server's RSS (default 3)
          --hold T               seconds to hold the last step, checking nothing dropped (default 10)

        group      one group of M members; S senders; every member receives
          --members M            default 1000
          --senders S            default 10
          --rate R|max           messages per second into the group (default 200)
          --window W             with --rate max: unacknowledged sends per sender (default 4)
          --duration T           seconds of sending (default 10)
          --warmup T             as for pairs (default 5)

        history    store N messages through the API, then page history and /sync at random
          --messages N           default 1000000
          --chats K              1:1 chats holding them (default 100)
          --send-via ws|rest     how to store them (default ws)
          --window W             unacknowledged sends per sender while storing (default 16)
          --page-size L          the limit= of each page (default 50)
          --reads Q              random page reads of each kind (default 10000)
          --concurrency C        parallel readers (default 8)

        reconnect  every client drops at once and resumes with since
          --users U              default 1000 (even)
          --rate R               live messages per second before the drop (default 2000)
          --duration T           seconds of live traffic before the drop (default 3)
          --offline-messages K   messages each user sends over REST while everyone is offline (default 2)
        """;

    public string Workload { get; set; } = "";
    public Uri Url { get; set; } = new("http://127.0.0.1:8080");
    public int? ServerPid { get; set; }
    public bool Json { get; set; }
    public string? JsonOut { get; set; }
    public bool Quiet { get; set; }
    public int SetupConcurrency { get; set; } = 32;
    public int MessageSize { get; set; } = 64;
    public double DrainSeconds { get; set; } = 10;
    public double TimeoutSeconds { get; set; } = 900;
    public int Seed { get; set; } = 1;

    /// <summary>Users for pairs/reconnect, members for group.</summary>
    public int Users { get; set; } = 1000;
    /// <summary>Messages per second offered; null means saturation (closed loop with <see cref="Window"/>).</summary>
    public double? Rate { get; set; } = 5000;
    public int Window { get; set; } = 4;
    public double DurationSeconds { get; set; } = 10;
    public double WarmupSeconds { get; set; } = 5;
    public double DeletesPerSecond { get; set; }
    /// <summary>pairs: only the first user of each pair sends (one sending socket a chat).</summary>
    public bool OneWay { get; set; }

    public int[] Steps { get; set; } = [1000, 5000, 10000, 19000];
    public int PerUser { get; set; } = 1;
    /// <summary>Child processes for conns; null = automatic.</summary>
    public int? Procs { get; set; }
    public int ConnectConcurrency { get; set; } = 64;
    /// <summary>Sockets send their token in the Authorization header rather than the URL.</summary>
    public bool WsTokenInHeader { get; set; }
    public double SettleSeconds { get; set; } = 3;
    public double HoldSeconds { get; set; } = 10;

    public int Senders { get; set; } = 10;

    public long Messages { get; set; } = 1_000_000;
    public int Chats { get; set; } = 100;
    public bool SendViaRest { get; set; }
    public int PageSize { get; set; } = 50;
    public int Reads { get; set; } = 10_000;
    public int Concurrency { get; set; } = 8;

    public int OfflineMessages { get; set; } = 2;

    /// <summary>Per-workload defaults that differ from pairs' (applied before the user's flags).</summary>
    public static BenchOptions ForWorkload(string workload)
    {
        var o = new BenchOptions { Workload = workload };
        switch (workload)
        {
            case "group":
                o.Users = 1000;
                o.Rate = 200;
                break;
            case "history":
                o.Window = 16;
                break;
            case "reconnect":
                o.Rate = 2000;
                o.DurationSeconds = 3;
                break;
        }
        return o;
    }

    public static readonly string[] Workloads = ["pairs", "conns", "group", "history", "reconnect"];

    /// <summary>Reads a command line; throws <see cref="ArgumentException"/> with a readable message.</summary>
    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        if (args.Count == 0) throw new ArgumentException("no workload given");
        var workload = args[0].ToLowerInvariant();
        if (!Workloads.Contains(workload)) throw new ArgumentException($"unknown workload '{args[0]}'");
        var o = ForWorkload(workload);
        for (var i = 1; i < args.Count; i++)
        {
            var name = args[i];
            string? inline = null;
            var eq = name.IndexOf('=');
            if (name.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                inline = name[(eq + 1)..];
                name = name[..eq];
            }
            string Value()
            {
                if (inline is not null) return inline;
                if (i + 1 >= args.Count) throw new ArgumentException($"{name} needs a value");
                return args[++i];
            }
            switch (name)
            {
                case "--url": o.Url = new Uri(Value()); break;
                case "--server-pid": o.ServerPid = Int(name, Value()); break;
                case "--json": o.Json = true; break;
                case "--json-out": o.JsonOut = Value(); break;
                case "--quiet": o.Quiet = true; break;
                case "--setup-concurrency": o.SetupConcurrency = Positive(name, Int(name, Value())); break;
                case "--size": o.MessageSize = Math.Max(32, Int(name, Value())); break;
                case "--drain": o.DrainSeconds = Dbl(name, Value()); break;
                case "--timeout": o.TimeoutSeconds = Dbl(name, Value()); break;
                case "--seed": o.Seed = Int(name, Value()); break;
                case "--users":
                case "--members": o.Users = Positive(name, Int(name, Value())); break;
                case "--rate":
                    var rate = Value();
                    o.Rate = rate.Equals("max", StringComparison.OrdinalIgnoreCase) ? null : Dbl(name, rate);
                    if (o.Rate <= 0) throw new ArgumentException("--rate must be positive or 'max'");
                    break;
                case "--window": o.Window = Positive(name, Int(name, Value())); break;
                case "--duration": o.DurationSeconds = Dbl(name, Value()); break;
                case "--warmup": o.WarmupSeconds = Dbl(name, Value()); break;
                case "--deletes-per-second": o.DeletesPerSecond = Dbl(name, Value()); break;
                case "--one-way": o.OneWay = true; break;
                case "--steps":
                    o.Steps = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                        .Select(s => Positive(name, Int(name, s.Replace("k", "000", StringComparison.OrdinalIgnoreCase)))).ToArray();
                    if (o.Steps.Length == 0 || o.Steps.Zip(o.Steps.Skip(1)).Any(p => p.Second <= p.First))
                        throw new ArgumentException("--steps must be increasing, e.g. 1000,5000,10000");
                    break;
                case "--per-user": o.PerUser = Positive(name, Int(name, Value())); break;
                case "--procs":
                    var procs = Value();
                    o.Procs = procs == "auto" ? null : Int(name, procs);
                    if (o.Procs < 0) throw new ArgumentException("--procs must be 0 or more");
                    break;
                case "--connect-concurrency": o.ConnectConcurrency = Positive(name, Int(name, Value())); break;
                case "--settle": o.SettleSeconds = Dbl(name, Value()); break;
                case "--hold": o.HoldSeconds = Dbl(name, Value()); break;
                case "--senders": o.Senders = Positive(name, Int(name, Value())); break;
                case "--messages": o.Messages = Positive(name, Long(name, Value())); break;
                case "--chats": o.Chats = Positive(name, Int(name, Value())); break;
                case "--send-via":
                    var via = Value();
                    o.SendViaRest = via switch { "rest" => true, "ws" => false, _ => throw new ArgumentException("--send-via is ws or rest") };
                    break;
                case "--ws-token":
                    var carrier = Value();
                    o.WsTokenInHeader = carrier switch { "header" => true, "query" => false, _ => throw new ArgumentException("--ws-token is query or header") };
                    break;
                case "--page-size": o.PageSize = Positive(name, Int(name, Value())); break;
                case "--reads": o.Reads = Int(name, Value()); break;
                case "--concurrency": o.Concurrency = Positive(name, Int(name, Value())); break;
                case "--offline-messages": o.OfflineMessages = Int(name, Value()); break;
                default: throw new ArgumentException($"unknown option '{args[i]}'");
            }
        }
        o.Validate();
        return o;
    }

    /// <summary>Checks the combination; also called by <see cref="BenchRunner"/> for options built in code.</summary>
    public void Validate()
    {
        if (!Workloads.Contains(Workload)) throw new ArgumentException($"unknown workload '{Workload}'");
        if (!IsLoopback(Url)) throw new ArgumentException($"--url must be a loopback address (127.0.0.0/8, localhost or [::1]), not {Url.Host}");
        if (Workload is "pairs" or "reconnect" && (Users < 2 || Users % 2 != 0)) throw new ArgumentException("--users must be even and at least 2");
        if (OneWay && Workload != "pairs") throw new ArgumentException("--one-way is an option of pairs");
        if (Workload == "group" && Users < 2) throw new ArgumentException("--members must be at least 2");
        if (Workload == "group" && Senders > Users) Senders = Users;
        if (Workload == "reconnect" && Rate is null) throw new ArgumentException("reconnect needs a finite --rate");
        if (DurationSeconds < 0 || WarmupSeconds < 0 || DrainSeconds < 0 || HoldSeconds < 0 || SettleSeconds < 0) throw new ArgumentException("times must not be negative");
        if (TimeoutSeconds <= 0) throw new ArgumentException("--timeout must be positive");
        if (DeletesPerSecond < 0 || DeletesPerSecond > 1000) throw new ArgumentException("--deletes-per-second must be between 0 and 1000");
        if (Workload == "history" && Messages < Chats) throw new ArgumentException("--messages must be at least --chats");
    }

    public static bool IsLoopback(Uri url)
    {
        if (url.IsLoopback) return true;
        return System.Net.IPAddress.TryParse(url.Host.Trim('[', ']'), out var ip) && System.Net.IPAddress.IsLoopback(ip);
    }

    private static int Int(string name, string value) =>
        int.TryParse(value.Replace("_", ""), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw new ArgumentException($"{name}: '{value}' is not a whole number");

    private static long Long(string name, string value) =>
        long.TryParse(value.Replace("_", ""), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw new ArgumentException($"{name}: '{value}' is not a whole number");

    private static double Dbl(string name, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : throw new ArgumentException($"{name}: '{value}' is not a number");

    private static T Positive<T>(string name, T value) where T : System.Numerics.INumber<T> =>
        value > T.Zero ? value : throw new ArgumentException($"{name} must be positive");
}
