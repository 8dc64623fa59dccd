using System.Buffers;
using System.Text.Json;

namespace Parley.Server.Common;

/// <summary>Builds JSON with a <see cref="Utf8JsonWriter"/> straight into bytes, and answers HTTP
/// requests with bytes built that way.</summary>
public static class JsonBytes
{
    public static byte[] Build(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }
        return buffer.WrittenSpan.ToArray();
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
