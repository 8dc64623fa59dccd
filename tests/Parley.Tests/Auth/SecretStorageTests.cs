using System.Net;
using System.Security.Cryptography;
using System.Text;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Auth;

/// <summary>Refresh tokens and one-time codes are stored only as hashes: a copy of the database
/// file gives no usable session and no usable code.</summary>
public sealed class SecretStorageTests
{
    [Fact]
    public async Task Refresh_tokens_are_stored_only_as_hashes()
    {
        await using var server = await ParleyServer.StartAsync();
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(server, email);
        var session = await Accounts.LoginAsync(server, email);
        using var api = server.Api();
        var rotated = Session.From(await api.PostAsync("/auth/refresh", new { refreshToken = session.RefreshToken }));

        var raw = ServerDatabase.RawFiles(server);
        foreach (var token in new[] { session.RefreshToken, rotated.RefreshToken })
        {
            Assert.True(raw.AsSpan().IndexOf(Encoding.ASCII.GetBytes(token)) < 0, "a refresh token is in the database file in clear");
            var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
            Assert.Equal(1, ServerDatabase.RefreshTokenCount(server, hash));
        }
    }

    [Fact]
    public async Task One_time_codes_are_stored_only_as_hashes()
    {
        await using var server = await ParleyServer.StartAsync();
        using var api = server.Api();
        var phone = Accounts.NewPhone();
        var signUp = await api.PostAsync("/auth/sign-up", new { phoneNumber = phone, password = Accounts.Password, name = "Coded" });
        Assert.Equal(HttpStatusCode.Created, signUp.Status);
        var userId = signUp.Json.GetProperty("userId").GetString()!;
        var code = LoggedCodes.Required(server, "confirm", phone);

        var stored = ServerDatabase.CodeHash(server, userId);

        Assert.NotNull(stored);
        Assert.DoesNotContain(code, stored);
        Assert.True(stored.Length >= 32, $"stored code is too short to be a hash: {stored}");
    }
}
