namespace Parley.Server.Common;

/// <summary>
/// Parley's text limits count characters as a person, and a client in most other languages,
/// counts them: Unicode code points, so an emoji is one character, not the two UTF-16 units that
/// <see cref="string.Length"/> counts. Cutting text keeps surrogate pairs whole, so no client ever
/// receives half an emoji. (A lone surrogate, which JSON from clients cannot carry, counts as one.)
/// </summary>
public static class TextLength
{
    /// <summary>The number of characters (code points) of <paramref name="text"/>.</summary>
    public static int Count(ReadOnlySpan<char> text)
    {
        // Every character is one UTF-16 unit but a surrogate pair, which is two: count the pairs
        // by their second halves, skipping the text between them with a vectorized search.
        var count = text.Length;
        var i = 0;
        while (i < text.Length)
        {
            var next = text[i..].IndexOfAnyInRange('\uDC00', '\uDFFF');
            if (next < 0) break;
            i += next;
            if (i > 0 && char.IsHighSurrogate(text[i - 1])) count--;
            i++;
        }
        return count;
    }

    /// <summary>Whether <paramref name="text"/> has more than <paramref name="max"/> characters.
    /// Most text is decided by its length alone: it never has more characters than UTF-16 units.</summary>
    public static bool Exceeds(string text, int max) => text.Length > max && Count(text) > max;

    /// <summary>The first <paramref name="count"/> characters of <paramref name="text"/> (all of it
    /// when it is no longer), never ending inside a surrogate pair.</summary>
    public static string First(string text, int count)
    {
        if (text.Length <= count) return text;
        var end = 0;
        for (var taken = 0; taken < count && end < text.Length; taken++)
        {
            end += char.IsSurrogatePair(text, end) ? 2 : 1;
        }
        return end == text.Length ? text : text[..end];
    }

    /// <summary>Text to show in little room: <paramref name="text"/> itself when it has at most
    /// <paramref name="max"/> characters, else its first <paramref name="max"/> and "…".</summary>
    public static string Shorten(string text, int max)
    {
        var first = First(text, max);
        return first.Length == text.Length ? text : first + "…";
    }
}
