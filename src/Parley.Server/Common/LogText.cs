using System.Globalization;
using System.Text;

namespace Parley.Server.Common;

/// <summary>Makes text a client sent safe for a log line: control and invisible characters
/// (Unicode categories Cc and Cf: ESC sequences, NUL, bidi overrides, zero-width characters)
/// become <c>\uXXXX</c>, so nobody can forge lines, colour a terminal or hide text; and long
/// values are cut.</summary>
public static class LogText
{
    public const int MaxLength = 200;

    public static string Escape(string? value)
    {
        if (value is null) return "";
        var needs = value.Length > MaxLength;
        foreach (var c in value)
        {
            if (IsHidden(c)) { needs = true; break; }
        }
        if (!needs) return value;
        var builder = new StringBuilder(Math.Min(value.Length, MaxLength) + 16);
        foreach (var c in value.Length > MaxLength ? value.AsSpan(0, MaxLength) : value.AsSpan())
        {
            if (IsHidden(c)) builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            else builder.Append(c);
        }
        if (value.Length > MaxLength) builder.Append("...");
        return builder.ToString();
    }

    /// <summary>Cc (controls), Cf (format: zero-width, bidi) and lone surrogates.</summary>
    public static bool IsHidden(char c) => char.GetUnicodeCategory(c) is UnicodeCategory.Control or UnicodeCategory.Format;
}
