using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Parley.Server.Configuration;

namespace Parley.Server.Auth;

/// <summary>PBKDF2-HMAC-SHA256 with a random salt. The encoded hash carries its own parameters
/// (<c>pbkdf2-sha256$iterations$salt$hash</c>), so the configured count can change at any time
/// and older hashes still verify.</summary>
public sealed class PasswordHasher(IOptions<ParleyOptions> options)
{
    private const string Scheme = "pbkdf2-sha256";
    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    public string Hash(string password)
    {
        var iterations = Math.Max(1, options.Value.Auth.PasswordIterations);
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        return $"{Scheme}${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
    }

    public bool Verify(string password, string encoded)
    {
        var parts = encoded.Split('$');
        if (parts.Length != 4 || parts[0] != Scheme || !int.TryParse(parts[1], out var iterations) || iterations < 1)
        {
            return false;
        }
        byte[] salt, expected;
        try
        {
            salt = Convert.FromBase64String(parts[2]);
            expected = Convert.FromBase64String(parts[3]);
        }
        catch (FormatException)
        {
            return false;
        }
        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    /// <summary>Spends the same work as a real check, so an unknown account answers as slowly as a wrong password.</summary>
    public void VerifyAgainstNothing(string password) => Verify(password, _dummy.Value);

    private readonly Lazy<string> _dummy = new(() => new PasswordHasher(options).Hash("not-a-real-password"));
}
