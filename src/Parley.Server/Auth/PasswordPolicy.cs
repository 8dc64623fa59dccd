using System.Reflection;

namespace Parley.Server.Auth;

/// <summary>NIST SP 800-63B style rules: length 8 to 128, and not one of the passwords attackers try first.</summary>
public static class PasswordPolicy
{
    public const int MinLength = 8;
    public const int MaxLength = 128;

    private static readonly Lazy<HashSet<string>> Common = new(LoadCommonPasswords);

    /// <summary>Null when acceptable, else the reason in a sentence.</summary>
    public static string? Check(string? password, string field = "password")
    {
        if (string.IsNullOrEmpty(password)) return $"{field} is required.";
        if (password.Length < MinLength) return $"{field} must be at least {MinLength} characters.";
        if (password.Length > MaxLength) return $"{field} must be at most {MaxLength} characters.";
        if (Common.Value.Contains(password.ToLowerInvariant())) return $"{field} is too common; choose a less guessable one.";
        return null;
    }

    private static HashSet<string> LoadCommonPasswords()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Parley.Server.Auth.common-passwords.txt")
            ?? throw new InvalidOperationException("The common password list is missing from the build.");
        using var reader = new StreamReader(stream);
        var set = new HashSet<string>(StringComparer.Ordinal);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 0 && line[0] != '#') set.Add(line.Trim().ToLowerInvariant());
        }
        return set;
    }
}
