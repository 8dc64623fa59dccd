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
        if (trimmed.Length > maxLength) return $"{field} must be at most {maxLength} characters.";
        if (trimmed.Any(char.IsControl)) return $"{field} must not contain control characters.";
        return null;
    }

    /// <summary>"John Doe" → "JD": the default avatar.</summary>
    public static string Initials(string name)
    {
        var words = name.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var initials = string.Concat(words.Take(2).Select(w => char.ToUpperInvariant(w[0])));
        return initials.Length == 0 ? "?" : initials;
    }
}
