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
