using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Parley.Server.Common;

/// <summary>Checks and normalizes the fields clients send. Each returns null when the value is
/// fine, else the sentence the client sees.</summary>
public static partial class Validation
{
    public const int MaxNameLength = 64;
    public const int MaxAboutLength = 256;
    public const int MaxEmailLength = 254;

    [GeneratedRegex(@"^[^@\s]+@[^@\s]+\.[^@\s.]+$")]
    private static partial Regex EmailPattern();

    [GeneratedRegex(@"^\+[1-9][0-9]{6,14}$")]
    private static partial Regex PhonePattern();

    public static string NormalizeEmail(string email) => email.Trim().ToLowerInvariant();

    public static string? Email(string? email)
    {
        if (string.IsNullOrWhiteSpace(email)) return "email is required.";
        if (email.Any(LogText.IsHidden)) return "email must not contain control or invisible characters.";
        var normalized = NormalizeEmail(email);
        if (normalized.Length > MaxEmailLength || !EmailPattern().IsMatch(normalized)) return "email is not a valid email address.";
        return null;
    }

    public static string? Phone(string? phone)
    {
        if (string.IsNullOrWhiteSpace(phone)) return "phoneNumber is required.";
        return PhonePattern().IsMatch(phone.Trim()) ? null : "phoneNumber must be in E.164 form, like +14155550123.";
    }

    public static string? Text(string? value, string field, int maxLength, bool required)
    {
        if (value is null) return required ? $"{field} is required." : null;
        var trimmed = value.Trim();
        if (required && trimmed.Length == 0) return $"{field} must not be empty.";
        if (TextLength.Exceeds(trimmed, maxLength)) return $"{field} must be at most {maxLength} characters.";
        if (trimmed.Any(char.IsControl)) return $"{field} must not contain control characters.";
        return null;
    }

    /// <summary>A name others see (a person's, a group's): <see cref="Text"/>, with something visible
    /// in it, and no bidirectional override or isolate, which shows a name as another ("Bob\u202Enimda"
    /// shows as "Bobadmin"). Joiners and variation selectors inside emoji stay allowed.</summary>
    public static string? Name(string? value, string field, int maxLength, bool required)
    {
        if (Text(value, field, maxLength, required) is { } error) return error;
        if (value is null) return null;
        if (value.Any(c => c is >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069'))
        {
            return $"{field} must not contain characters that reverse or isolate the direction of text.";
        }
        return value.All(c => char.IsWhiteSpace(c) || char.GetUnicodeCategory(c) == UnicodeCategory.Format)
            ? $"{field} must have at least one visible character."
            : null;
    }

    public const int MaxAvatarSymbols = 4;

    /// <summary>An avatar is initials: 1 to 4 symbols, each a letter or digit (with its accents) or
    /// an emoji (with its skin tone, joiners and variation selectors; flags and keycaps too).</summary>
    public static string? Avatar(string avatar)
    {
        const string rule = "avatar must be 1 to 4 letters, digits or emoji.";
        var count = 0;
        var symbols = StringInfo.GetTextElementEnumerator(avatar);
        while (symbols.MoveNext())
        {
            if (++count > MaxAvatarSymbols || !IsInitialSymbol(symbols.GetTextElement())) return rule;
        }
        return count == 0 ? rule : null;
    }

    private static bool IsInitialSymbol(string element)
    {
        var first = true;
        foreach (var rune in element.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            var ok = category switch
            {
                UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                    or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.DecimalDigitNumber => true,
                // Emoji are "other symbols" (and skin tones "modifier symbols"); math and currency signs are not.
                UnicodeCategory.OtherSymbol => true,
                UnicodeCategory.ModifierSymbol => rune.Value is >= 0x1F3FB and <= 0x1F3FF,
                // What may follow a base inside one symbol: accents, keycap, joiner, variation selectors, tag letters.
                UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark => !first,
                UnicodeCategory.Format => !first && (rune.Value == 0x200D || rune.Value is >= 0xE0020 and <= 0xE007F),
                _ => false,
            };
            if (!ok) return false;
            first = false;
        }
        return true;
    }

    /// <summary>"John Doe" → "JD": the default avatar (the first symbol of the first two words
    /// that start with a letter, digit or emoji).</summary>
    public static string Initials(string name)
    {
        var initials = name.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(word => StringInfo.GetNextTextElement(word))
            .Where(IsInitialSymbol)
            .Take(2)
            .Select(symbol => symbol.ToUpperInvariant());
        var text = string.Concat(initials);
        return text.Length == 0 ? "?" : text;
    }
}
