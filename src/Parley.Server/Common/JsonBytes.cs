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

    public static byte[] Build(Action<Utf8JsonWriter> write)
    {
        // Taken out while in use: a build inside another's callback gets buffers of its own.
        var (buffer, writer) = t_kept ?? NewKept();
        t_kept = null;
        try
        {
            write(writer);
            writer.Flush();
            return buffer.WrittenSpan.ToArray();
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

    public static IResult Result(Action<Utf8JsonWriter> write, int status = StatusCodes.Status200OK) => new BytesResult(Build(write), status);

    private sealed class BytesResult(byte[] json, int status) : IResult
    {
        public Task ExecuteAsync(HttpContext context)
        {
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json; charset=utf-8";
            context.Response.ContentLength = json.Length;
            return context.Response.Body.WriteAsync(json).AsTask();
        }
    }
}
