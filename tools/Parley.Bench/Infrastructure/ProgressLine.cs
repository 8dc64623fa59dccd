using System.Diagnostics;

namespace Parley.Bench.Infrastructure;

/// <summary>Writes a one-line status once a second while a phase runs (to stderr by default). On a
/// terminal the line rewrites itself; otherwise each update is its own line.</summary>
public sealed class ProgressLine(TextWriter? writer, bool rewrite)
{
    private readonly TextWriter? _writer = writer;
    private readonly bool _rewrite = rewrite;
    private readonly long _start = Stopwatch.GetTimestamp();
    private int _lastLength;

    public static ProgressLine Create(BenchOptions options, TextWriter? writer) =>
        new(options.Quiet ? null : writer, writer == Console.Error && !Console.IsErrorRedirected);

    public double Elapsed => Stopwatch.GetElapsedTime(_start).TotalSeconds;

    /// <summary>A finished step, kept on screen.</summary>
    public void Say(string text)
    {
        if (_writer is null) return;
        lock (this)
        {
            if (_rewrite && _lastLength > 0) _writer.Write("\r" + new string(' ', _lastLength) + "\r");
            _lastLength = 0;
            _writer.WriteLine($"[{Elapsed,6:F1}s] {text}");
            _writer.Flush();
        }
    }

    private void Update(string text)
    {
        if (_writer is null) return;
        lock (this)
        {
            var line = $"[{Elapsed,6:F1}s] {text}";
            if (_rewrite)
            {
                _writer.Write("\r" + line.PadRight(_lastLength));
                _lastLength = line.Length;
            }
            else
            {
                _writer.WriteLine(line);
            }
            _writer.Flush();
        }
    }

    /// <summary>Calls <paramref name="status"/> every second and shows it until disposed.</summary>
    public IAsyncDisposable Every(Func<string> status, double seconds = 1)
    {
        var stop = new CancellationTokenSource();
        var task = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    await Task.Delay(TimeSpan.FromSeconds(seconds), stop.Token);
                    Update(status());
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        return new Ticker(stop, task, this);
    }

    private sealed class Ticker(CancellationTokenSource stop, Task task, ProgressLine owner) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            await task;
            stop.Dispose();
            if (owner._writer is not null && owner._rewrite && owner._lastLength > 0)
            {
                lock (owner)
                {
                    owner._writer.WriteLine();
                    owner._lastLength = 0;
                }
            }
        }
    }
}
