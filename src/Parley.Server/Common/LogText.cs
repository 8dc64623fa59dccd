using System.Globalization;
using System.Text;

namespace Parley.Server.Common;

/// <summary>Makes text a client sent safe for a log line: control and invisible characters
/// (Unicode categories Cc and Cf: ESC sequences, NUL, bidi overrides, zero-width characters),
/// the line and paragraph separators (U+2028, U+2029: line breaks to many viewers) and lone
/// surrogates become <c>\uXXXX</c>, so nobody can forge lines, colour a terminal or hide text;
/// and long values are cut.</summary>
public static class LogText
{
    public const int MaxLength = 200;

    public static string Escape(string? value)
    {
        if (value is null) return "";
        var needs = value.Length > MaxLength;
        for (var i = 0; i < value.Length && !needs; i++) needs = IsHidden(value, i);
        if (!needs) return value;
        var shown = value.Length > MaxLength ? value.AsSpan(0, MaxLength) : value.AsSpan();
        var builder = new StringBuilder(shown.Length + 16);
        for (var i = 0; i < shown.Length; i++)
        {
            // A pair cut in two by the length limit shows its first half escaped, not broken.
            if (IsHidden(shown, i)) builder.Append("\\u").Append(((int)shown[i]).ToString("x4", CultureInfo.InvariantCulture));
            else builder.Append(shown[i]);
        }
        if (value.Length > MaxLength) builder.Append("...");
        return builder.ToString();
    }

    /// <summary>Cc (controls), Cf (format: zero-width, bidi) and the line and paragraph separators.
    /// A surrogate needs its neighbours to judge: <see cref="IsHidden(ReadOnlySpan{char}, int)"/>.</summary>
    public static bool IsHidden(char c) => char.GetUnicodeCategory(c)
        is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;

    /// <summary>Whether the character at <paramref name="i"/> is hidden: as <see cref="IsHidden(char)"/>,
    /// and a surrogate that is not half of a pair (half of an emoji is shown).</summary>
    public static bool IsHidden(ReadOnlySpan<char> text, int i)
    {
        var c = text[i];
        if (char.IsHighSurrogate(c)) return i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]);
        if (char.IsLowSurrogate(c)) return i == 0 || !char.IsHighSurrogate(text[i - 1]);
        return IsHidden(c);
    }
}
