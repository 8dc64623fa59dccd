using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Auth;

/// <summary>Passwords are stored only as salted PBKDF2-SHA256 hashes that carry their own
/// parameters, and never reach the log.</summary>
public sealed partial class PasswordStorageTests
{
    [GeneratedRegex(@"^pbkdf2-sha256\$([0-9]+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$")]
    private static partial Regex EncodedHash();

    private static (int Iterations, byte[] Salt, byte[] Hash) Parse(string encoded)
    {
        var match = EncodedHash().Match(encoded);
        Assert.True(match.Success, $"stored hash is not pbkdf2-sha256$iterations$salt$hash: {encoded}");
        return (int.Parse(match.Groups[1].Value), Convert.FromBase64String(match.Groups[2].Value), Convert.FromBase64String(match.Groups[3].Value));
    }

    [Fact]
    public async Task Passwords_are_stored_as_salted_pbkdf2_sha256_hashes_and_never_in_clear()
    {
        await using var server = await ParleyServer.StartAsync();
        var email = Accounts.NewEmail();
        var password = Accounts.UniquePassword();
        await Accounts.RegisterAsync(server, email, password);

        var stored = ServerDatabase.PasswordHash(server, email);

        Assert.DoesNotContain(password, stored);
        var (iterations, salt, hash) = Parse(stored);
        Assert.Equal(1000, iterations); // the test server's configured count
        Assert.True(salt.Length >= 16, $"salt is {salt.Length} bytes");
        Assert.Equal(32, hash.Length);
        // It is really PBKDF2-HMAC-SHA256 of this password with this salt and count.
        var expected = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, hash.Length);
        Assert.Equal(expected, hash);
        // Nowhere in the database files either, in UTF-8 or UTF-16.
        var raw = ServerDatabase.RawFiles(server);
        Assert.True(raw.AsSpan().IndexOf(Encoding.UTF8.GetBytes(password)) < 0, "the password is in the database file");
        Assert.True(raw.AsSpan().IndexOf(Encoding.Unicode.GetBytes(password)) < 0, "the password is in the database file (UTF-16)");
    }

    [Fact]
    public async Task The_same_password_gets_a_different_salt_and_hash_for_each_account()
    {
        await using var server = await ParleyServer.StartAsync();
        var password = Accounts.UniquePassword();
        var first = Accounts.NewEmail();
        var second = Accounts.NewEmail();
        await Accounts.RegisterAsync(server, first, password);
        await Accounts.RegisterAsync(server, second, password);

        var a = Parse(ServerDatabase.PasswordHash(server, first));
        var b = Parse(ServerDatabase.PasswordHash(server, second));

        Assert.NotEqual(a.Salt, b.Salt);
        Assert.NotEqual(a.Hash, b.Hash);
    }

    [Fact]
    public async Task The_configured_iteration_count_is_used_for_new_hashes()
    {
        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Auth:PasswordIterations"] = "1234" });
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(server, email);

        Assert.Equal(1234, Parse(ServerDatabase.PasswordHash(server, email)).Iterations);
    }

    [Fact]
    public async Task Hashes_made_with_another_iteration_count_still_verify()
    {
        await using var first = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Auth:PasswordIterations"] = "1000" });
        var oldEmail = Accounts.NewEmail();
        await Accounts.RegisterAsync(first, oldEmail);
        await first.StopAsync();

        await using var second = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Auth:PasswordIterations"] = "3000" }, first.DataDirectory);
        var newEmail = Accounts.NewEmail();
        await Accounts.RegisterAsync(second, newEmail);

        // The setting changed for new hashes, the old hash kept its own count...
        Assert.Equal(1000, Parse(ServerDatabase.PasswordHash(second, oldEmail)).Iterations);
        Assert.Equal(3000, Parse(ServerDatabase.PasswordHash(second, newEmail)).Iterations);
        // ...and both accounts log in, while a wrong password still fails against the old hash.
        await Accounts.LoginAsync(second, oldEmail);
        await Accounts.LoginAsync(second, newEmail);
        using var api = second.Api();
        var wrong = await api.PostAsync("/auth/login", new { email = oldEmail, password = "not-the-password" });
        wrong.AssertError(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Passwords_never_appear_in_the_server_log()
    {
        await using var server = await ParleyServer.StartAsync();
        using var api = server.Api();
        var email = Accounts.NewEmail();
        var password = Accounts.UniquePassword();
        var wrongPassword = Accounts.UniquePassword();
        var phone = Accounts.NewPhone();
        var phonePassword = Accounts.UniquePassword();
        var newPassword = Accounts.UniquePassword();

        Assert.Equal(HttpStatusCode.Created, (await api.PostAsync("/auth/register", new { email, password, name = "Log Watcher" })).Status);
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsync("/auth/login", new { email, password })).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await api.PostAsync("/auth/login", new { email, password = wrongPassword })).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await api.PostAsync("/auth/login", new { email = Accounts.NewEmail(), password = wrongPassword })).Status);
        Assert.Equal(HttpStatusCode.Created, (await api.PostAsync("/auth/sign-up", new { phoneNumber = phone, password = phonePassword, name = "Log Watcher" })).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await api.PostAsync("/auth/sign-in", new { phoneNumber = phone, password = phonePassword })).Status);
        Assert.Equal(HttpStatusCode.Accepted, (await api.PostAsync("/auth/forgot-password", new { email })).Status);
        var code = LoggedCodes.Required(server, "reset", email);
        Assert.Equal(HttpStatusCode.NoContent, (await api.PostAsync("/auth/reset-password", new { email, code, newPassword })).Status);
        // A body the server cannot parse, with the password in it, must not be echoed to the log either.
        Assert.Equal(HttpStatusCode.BadRequest, (await api.PostAsync("/auth/login", $"{{\"email\":\"{email}\",\"password\":\"{password}\"")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.PostAsync("/auth/login", $"{{\"email\":\"{email}\",\"password\":[\"{password}\"]}}")).Status);

        Assert.NotEmpty(server.Logs);
        foreach (var secret in new[] { password, wrongPassword, phonePassword, newPassword })
        {
            var leaked = server.Logs.Where(line => line.Contains(secret, StringComparison.Ordinal)).ToList();
            Assert.True(leaked.Count == 0, "password found in the log:\n" + string.Join('\n', leaked));
        }
    }
}
