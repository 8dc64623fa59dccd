using System.Buffers.Text;
using System.Text.Json;

namespace Parley.Bench.Infrastructure;

public enum FrameType { Other, Message, Ack, Error, Presence, Chat, Status, Typing, Pong, MessageUpdated }

/// <summary>The parts of a server frame (<c>{"type", "data", "cursor"}</c>) the generator uses,
/// as spans into the receive buffer: parsed in one pass, without allocating.</summary>
public ref struct Frame
{
    public FrameType Type;
    private ReadOnlySpan<byte> _json;
    private Fields _f;

    private struct Fields
    {
        public (int Start, int Length) TypeName, Cursor, ChatId, SenderId, ClientMessageId, Content, Error, Code;
        public long Seq;
        public bool HasSeq, HasCursor;
    }
    public readonly ReadOnlySpan<byte> TypeName => Slice(_f.TypeName);
    public readonly ReadOnlySpan<byte> Cursor => Slice(_f.Cursor);
    public readonly ReadOnlySpan<byte> ChatId => Slice(_f.ChatId);
    public readonly ReadOnlySpan<byte> SenderId => Slice(_f.SenderId);
    public readonly ReadOnlySpan<byte> ClientMessageId => Slice(_f.ClientMessageId);
    public readonly ReadOnlySpan<byte> Content => Slice(_f.Content);
    public readonly ReadOnlySpan<byte> Error => Slice(_f.Error);
    public readonly ReadOnlySpan<byte> Code => Slice(_f.Code);
    private readonly ReadOnlySpan<byte> Slice((int Start, int Length) r) => r.Length == 0 ? default : _json.Slice(r.Start, r.Length);
    public readonly long Seq => _f.Seq;
    public readonly bool HasSeq => _f.HasSeq;
    public readonly bool HasCursor => _f.HasCursor;

    /// <summary>Parses a frame; false when it is not a JSON object.</summary>
    public static bool TryParse(ReadOnlySpan<byte> json, out Frame frame)
    {
        frame = default;
        frame._json = json;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    frame._f.TypeName = Raw(ref reader);
                }
                else if (reader.ValueTextEquals("cursor"u8))
                {
                    reader.Read();
                    if (reader.TokenType is JsonTokenType.String or JsonTokenType.Number)
                    {
                        frame._f.Cursor = Raw(ref reader);
                        frame._f.HasCursor = true;
                    }
                }
                else if (reader.ValueTextEquals("data"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject) ReadData(ref reader, ref frame._f);
                    else reader.Skip();
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            return false;
        }
        frame.Type = Classify(frame.TypeName);
        return true;
    }

    private static void ReadData(ref Utf8JsonReader reader, ref Fields frame)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("chatId"u8)) { reader.Read(); frame.ChatId = Raw(ref reader); }
            else if (reader.ValueTextEquals("senderId"u8)) { reader.Read(); frame.SenderId = Raw(ref reader); }
            else if (reader.ValueTextEquals("clientMessageId"u8)) { reader.Read(); frame.ClientMessageId = Raw(ref reader); }
            else if (reader.ValueTextEquals("content"u8)) { reader.Read(); frame.Content = Raw(ref reader); }
            else if (reader.ValueTextEquals("error"u8)) { reader.Read(); frame.Error = Raw(ref reader); }
            else if (reader.ValueTextEquals("code"u8)) { reader.Read(); frame.Code = Raw(ref reader); }
            else if (reader.ValueTextEquals("seq"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var seq))
                {
                    frame.Seq = seq;
                    frame.HasSeq = true;
                }
            }
            else if (reader.ValueTextEquals("cursor"u8) && !frame.HasCursor)
            {
                reader.Read();
                if (reader.TokenType is JsonTokenType.String or JsonTokenType.Number)
                {
                    frame.Cursor = Raw(ref reader);
                    frame.HasCursor = true;
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    /// <summary>A scalar's bytes (strings without their quotes; ids and cursors have no escapes).</summary>
    private static (int, int) Raw(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.String => ((int)reader.TokenStartIndex + 1, reader.ValueSpan.Length),
        JsonTokenType.Number => ((int)reader.TokenStartIndex, reader.ValueSpan.Length),
        _ => (0, 0),
    };

    private static FrameType Classify(ReadOnlySpan<byte> type) => type switch
    {
        _ when type.SequenceEqual("message"u8) => FrameType.Message,
        _ when type.SequenceEqual("ack"u8) => FrameType.Ack,
        _ when type.SequenceEqual("error"u8) => FrameType.Error,
        _ when type.SequenceEqual("presence"u8) => FrameType.Presence,
        _ when type.SequenceEqual("chat"u8) => FrameType.Chat,
        _ when type.SequenceEqual("status"u8) => FrameType.Status,
        _ when type.SequenceEqual("typing"u8) => FrameType.Typing,
        _ when type.SequenceEqual("pong"u8) => FrameType.Pong,
        _ when type.SequenceEqual("messageUpdated"u8) => FrameType.MessageUpdated,
        _ => FrameType.Other,
    };

    /// <summary>Bench content is <c>bench:{stopwatch ticks}:{padding}</c>; returns the send timestamp.</summary>
    public static bool TryParseBenchContent(ReadOnlySpan<byte> content, out long sendTicks)
    {
        sendTicks = 0;
        if (!content.StartsWith(ContentPrefix)) return false;
        return Utf8Parser.TryParse(content[ContentPrefix.Length..], out sendTicks, out _);
    }

    /// <summary>Bench client message ids are <c>b{n}</c> (WebSocket) or <c>r{n}</c> (REST).</summary>
    public static bool TryParseClientId(ReadOnlySpan<byte> id, out long n)
    {
        n = 0;
        if (id.Length < 2 || id[0] != (byte)'b') return false;
        return Utf8Parser.TryParse(id[1..], out n, out var used) && used == id.Length - 1;
    }

    public static ReadOnlySpan<byte> ContentPrefix => "bench:"u8;
}
