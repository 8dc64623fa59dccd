using System.Reflection;
using Parley.Server.Common;

namespace Parley.Server.Auth;

/// <summary>NIST SP 800-63B style rules: length 8 to 128 characters, and not one of the passwords
/// attackers try first. Characters are code points, as in every other limit (<see cref="TextLength"/>),
/// so an emoji counts once, as the person typing it counts it.</summary>
public static class PasswordPolicy
{
    public const int MinLength = 8;
    /// <summary>128 code points are at most 512 bytes of UTF-8 for the hasher, which hashes a long
    /// password into its HMAC key once, not once per iteration.</summary>
    public const int MaxLength = 128;

    private static readonly Lazy<HashSet<string>> Common = new(LoadCommonPasswords);

    /// <summary>Null when acceptable, else the reason in a sentence.</summary>
    public static string? Check(string? password, string field = "password")
    {
        if (string.IsNullOrEmpty(password)) return $"{field} is required.";
        var length = TextLength.Count(password);
        if (length < MinLength) return $"{field} must be at least {MinLength} characters.";
        if (length > MaxLength) return $"{field} must be at most {MaxLength} characters.";
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
