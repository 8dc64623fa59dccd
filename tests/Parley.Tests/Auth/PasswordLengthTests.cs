using System.Net;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Auth;

/// <summary>A password's 8 to 128 characters are counted as every other limit counts them, in
/// Unicode code points: an emoji is one character, though it is two UTF-16 units.</summary>
public sealed class PasswordLengthTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    /// <summary>A password of <paramref name="characters"/> characters, each an emoji outside the
    /// Basic Multilingual Plane (a surrogate pair), varied so it is on no list of common passwords.</summary>
    private static string Emoji(int characters) =>
        string.Concat(Enumerable.Range(0, characters).Select(i => char.ConvertFromUtf32(0x1F600 + i % 64)));

    [Theory]
    [InlineData(8)]
    [InlineData(128)]
    public async Task A_password_of_8_or_128_emoji_is_accepted_and_signs_in(int characters)
    {
        using var api = Server.Api();
        var email = Accounts.NewEmail();
        var password = Emoji(characters);
        Assert.Equal(characters * 2, password.Length);

        var registered = await api.PostAsync("/auth/register", new { email, password, name = "Emoji Password" });
        var login = await api.PostAsync("/auth/login", new { email, password });

        Assert.Equal(HttpStatusCode.Created, registered.Status);
        login.AssertStatus(HttpStatusCode.OK, "login");
        Assert.False(string.IsNullOrEmpty(login.Json.Str("accessToken")));
    }

    [Theory]
    [InlineData(4, "at least 8 characters")]
    [InlineData(7, "at least 8 characters")]
    [InlineData(129, "at most 128 characters")]
    public async Task A_password_of_fewer_than_8_or_more_than_128_emoji_is_refused(int characters, string sentence)
    {
        using var api = Server.Api();
        var email = Accounts.NewEmail();

        var refused = await api.PostAsync("/auth/register", new { email, password = Emoji(characters), name = "Emoji Password" });

        Assert.Contains(sentence, refused.AssertError(HttpStatusCode.BadRequest));
        Assert.Contains("password", refused.Error);
        // Nothing was stored: the address is still free.
        Assert.Equal(HttpStatusCode.Created, (await api.PostAsync("/auth/register", new { email, password = Accounts.Password, name = "Later" })).Status);
    }

    [Fact]
    public async Task A_new_password_set_by_a_reset_code_is_counted_the_same_way()
    {
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(Server, email);
        using var api = Server.Api();
        Assert.Equal(HttpStatusCode.Accepted, (await api.PostAsync("/auth/forgot-password", new { email })).Status);
        var code = LoggedCodes.Required(Server, "reset", email);

        var tooShort = await api.PostAsync("/auth/reset-password", new { email, code, newPassword = Emoji(4) });
        var tooLong = await api.PostAsync("/auth/reset-password", new { email, code, newPassword = Emoji(129) });
        var longest = await api.PostAsync("/auth/reset-password", new { email, code, newPassword = Emoji(128) });

        Assert.Contains("newPassword must be at least 8 characters", tooShort.AssertError(HttpStatusCode.BadRequest));
        Assert.Contains("newPassword must be at most 128 characters", tooLong.AssertError(HttpStatusCode.BadRequest));
        Assert.Equal(HttpStatusCode.NoContent, longest.Status);
        (await api.PostAsync("/auth/login", new { email, password = Emoji(128) })).AssertStatus(HttpStatusCode.OK, "login with the new password");
    }
}
