namespace Parley.Tests.Infrastructure;

/// <summary>Text for length limits, which count characters (code points), not UTF-16 units.</summary>
public static class Texts
{
    /// <summary>An emoji outside the Basic Multilingual Plane: one character, two UTF-16 units.</summary>
    public const string Emoji = "😀";

    public static string Repeat(string text, int count) => string.Concat(Enumerable.Repeat(text, count));
}
