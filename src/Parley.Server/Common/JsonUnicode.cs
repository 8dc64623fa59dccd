using System.Text.Json;
using System.Text.Unicode;

namespace Parley.Server.Common;

/// <summary>
/// JSON that parses can still hold text that is not Unicode: bytes that are not UTF-8, or an
/// escaped lone surrogate such as <c>"\ud800"</c>. The parser lets both through, and every later
/// read of that name or string (<c>GetString</c>, <c>TryGetProperty</c>, <c>Name</c>, binding) throws
/// <see cref="InvalidOperationException"/>, which would be a 500. Checking a client's JSON once,
/// where it comes in (request bodies, WebSocket frames), keeps every read after it safe.
/// </summary>
public static class JsonUnicode
{
    /// <summary>Whether every member name and string in <paramref name="json"/>, which must already
    /// have parsed with the same <paramref name="options"/>, is valid Unicode.</summary>
    public static bool IsValid(ReadOnlySpan<byte> json, JsonReaderOptions options = default)
    {
        // Most JSON is UTF-8 throughout with no \u escape, and so holds no lone surrogate either:
        // two vectorized scans decide it, not a second parse (every WebSocket frame comes here).
        if (Utf8.IsValid(json) && json.IndexOf("\\u"u8) < 0) return true;
        var reader = new Utf8JsonReader(json, options);
        while (reader.Read())
        {
            if (reader.TokenType is (JsonTokenType.PropertyName or JsonTokenType.String) && !IsValidText(ref reader)) return false;
        }
        return true;
    }

    /// <summary>The top-level member <paramref name="name"/> of a JSON object that parsed with the
    /// same <paramref name="options"/>, when it is a string of valid Unicode; else null (absent, not
    /// a string, not Unicode). Safe on JSON that <see cref="IsValid"/> refused: nothing else in it is
    /// read as text, so a bad frame can still be answered with the id the client gave it. The last
    /// such member counts, as with <see cref="JsonElement.TryGetProperty(string, out JsonElement)"/>.</summary>
    public static string? ValidTopLevelString(ReadOnlySpan<byte> json, ReadOnlySpan<byte> name, JsonReaderOptions options = default)
    {
        var reader = new Utf8JsonReader(json, options);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
        string? value = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var named = NameEquals(ref reader, name);
            reader.Read();
            if (named) value = reader.TokenType == JsonTokenType.String ? TextOrNull(ref reader) : null;
            reader.Skip();
        }
        return value;
    }

    private static bool NameEquals(ref Utf8JsonReader reader, ReadOnlySpan<byte> name)
    {
        try
        {
            return reader.ValueTextEquals(name);
        }
        catch (InvalidOperationException)
        {
            // An escaped name that is not Unicode is no name we look for.
            return false;
        }
    }

    private static string? TextOrNull(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped && !Utf8.IsValid(reader.ValueSpan)) return null;
        try
        {
            return reader.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private static bool IsValidText(ref Utf8JsonReader reader)
    {
        // Most text has no escapes: its bytes are checked where they lie, with no copy.
        if (!reader.ValueIsEscaped) return Utf8.IsValid(reader.ValueSpan);
        try
        {
            // Unescaping is the only public way to find a lone surrogate among the escapes.
            reader.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
