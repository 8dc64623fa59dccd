using System.Buffers;
using System.Text.Json;

namespace Parley.Server.Common;

/// <summary>Builds JSON with a <see cref="Utf8JsonWriter"/> straight into bytes, and answers HTTP
/// requests with bytes built that way.</summary>
public static class JsonBytes
{
    /// <summary>A buffer kept beyond this is dropped after use, so one huge answer does not stay
    /// allocated on its thread.</summary>
    private const int MaxKeptBuffer = 256 * 1024;

    /// <summary>Each thread keeps one buffer and writer: a page of history grows a fresh buffer
    /// several times (each growth a new zeroed array and a copy), which cost more than writing it.</summary>
    [ThreadStatic] private static (ArrayBufferWriter<byte> Buffer, Utf8JsonWriter Writer)? t_kept;

    public static byte[] Build(Action<Utf8JsonWriter> write) => Build(write, static (w, write) => write(w), static json => json.ToArray());

    /// <summary>As above, with what the JSON is written from passed as <paramref name="state"/> to a
    /// static <paramref name="write"/>: a lambda that captured it would be two objects more for every
    /// frame (a live message's ack and its delivery are built this way).</summary>
    public static byte[] Build<TState>(TState state, Action<Utf8JsonWriter, TState> write) =>
        Build(state, write, static json => json.ToArray());

    /// <summary>Writes the JSON, then hands it to <paramref name="copy"/>, which keeps what it needs
    /// (the span is the thread's buffer, reused by the next build).</summary>
    private static T Build<TState, T>(TState state, Action<Utf8JsonWriter, TState> write, Func<ReadOnlySpan<byte>, T> copy)
    {
        // Taken out while in use: a build inside another's callback gets buffers of its own.
        var (buffer, writer) = t_kept ?? NewKept();
        t_kept = null;
        try
        {
            write(writer, state);
            writer.Flush();
            return copy(buffer.WrittenSpan);
        }
        finally
        {
            if (buffer.Capacity <= MaxKeptBuffer)
            {
                buffer.ResetWrittenCount();
                writer.Reset(buffer);
                t_kept = (buffer, writer);
            }
        }
    }

    private static (ArrayBufferWriter<byte>, Utf8JsonWriter) NewKept()
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        return (buffer, new Utf8JsonWriter(buffer));
    }

    public static IResult Result(byte[] json, int status = StatusCodes.Status200OK) => new BytesResult(json, status);

    /// <summary>An answer built by <paramref name="write"/>, in an array lent by the shared pool
    /// until it is sent: a page of history is about 20 KB, and a fresh array for each was a sixth of
    /// the bytes a page allocated.</summary>
    public static IResult Result(Action<Utf8JsonWriter> write, int status = StatusCodes.Status200OK) =>
        Build(write, static (w, write) => write(w), json =>
        {
            var lent = ArrayPool<byte>.Shared.Rent(json.Length);
            json.CopyTo(lent);
            return new LentBytesResult(lent, json.Length, status);
        });

    /// <summary>Sends the first <paramref name="length"/> bytes of <paramref name="lent"/> and gives
    /// the array back to the pool (an answer never sent leaves it to the collector).</summary>
    private sealed class LentBytesResult(byte[] lent, int length, int status) : IResult
    {
        public async Task ExecuteAsync(HttpContext context)
        {
            try
            {
                await Send(context.Response, lent.AsMemory(0, length), status);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(lent);
            }
        }
    }

    private sealed class BytesResult(byte[] json, int status) : IResult
    {
        public Task ExecuteAsync(HttpContext context) => Send(context.Response, json, status).AsTask();
    }

    private static ValueTask Send(HttpResponse response, ReadOnlyMemory<byte> json, int status)
    {
        response.StatusCode = status;
        response.ContentType = "application/json; charset=utf-8";
        response.ContentLength = json.Length;
        return response.Body.WriteAsync(json);
    }
}
