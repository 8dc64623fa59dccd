using Parley.Bench;
using Parley.Bench.Workloads;

if (args.Length > 0 && args[0] == "__child-conns") return await ConnsWorkload.ChildMainAsync(args);
if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.WriteLine(BenchOptions.Usage);
    return args.Length == 0 ? 2 : 0;
}

BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (ArgumentException e)
{
    await Console.Error.WriteLineAsync($"error: {e.Message}\n\n{BenchOptions.Usage}");
    return 2;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};
try
{
    var report = await BenchRunner.RunAsync(options, Console.Error, cancel.Token);
    Console.WriteLine(options.Json ? report.ToJson() : report.ToTable());
    if (options.JsonOut is not null) await File.WriteAllTextAsync(options.JsonOut, report.ToJson());
    // Lost or duplicated messages are a failed run, whatever the speed.
    return report.Lost == 0 && report.Duplicates == 0 ? 0 : 3;
}
catch (Exception e) when (e is TimeoutException or OperationCanceledException or Parley.Bench.Infrastructure.ApiException or HttpRequestException
                              or Parley.Bench.Infrastructure.ConnectException or System.Net.WebSockets.WebSocketException)
{
    await Console.Error.WriteLineAsync($"error: {e.Message}");
    return 1;
}
