using System.Net;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Users;

/// <summary>Hidden characters are refused in email addresses and never reach the log raw; an
/// avatar is initials; a sender's marks on its own message move nothing.</summary>
public sealed class InputHardeningTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    [Theory]
    [InlineData("nul\u0000@example.com")]
    [InlineData("bell\u0007@example.com")]
    [InlineData("esc\u001b[31m@example.com")]
    [InlineData("zero\u200bwidth@example.com")]
    [InlineData("bidi\u202e@example.com")]
    public async Task Email_addresses_with_control_or_invisible_characters_are_refused(string email)
    {
        using var api = Server.Api();

        var register = await api.PostAsync("/auth/register", new { email, password = Accounts.Password, name = "Hidden" });
        var login = await api.PostAsync("/auth/login", new { email, password = Accounts.Password });
        var forgot = await api.PostAsync("/auth/forgot-password", new { email });

        Assert.Contains("email", register.AssertError(HttpStatusCode.BadRequest));
        Assert.Contains("email", login.AssertError(HttpStatusCode.BadRequest));
        Assert.Contains("email", forgot.AssertError(HttpStatusCode.BadRequest));
    }

    [Fact]
    public async Task Escape_sequences_a_client_sends_never_reach_the_log_raw()
    {
        await using var server = await ParleyServer.StartAsync();
        var user = await ApiClient.CreateUserAsync(server);
        using var anonymous = server.Api();

        await user.Api.GetAsync("/users/%1B%5B31mred%1B%5B0m");
        await anonymous.PostAsync("/auth/%1B%5D0%3Btitle%07", new { email = "a@example.com" });
        await anonymous.PostAsync("/auth/login", new { email = "esc\u001b[2J@example.com", password = Accounts.Password });
        await anonymous.PostAsync("/auth/forgot-password", new { email = "esc\u001b[2J@example.com" });

        Assert.Contains(server.Logs, l => l.Contains("\\u001b[31mred", StringComparison.Ordinal));
        Assert.DoesNotContain(server.Logs, l => l.Any(c => c is '\u001b' or '\u0007' or '\u0000'));
    }

    [Fact]
    public async Task Line_and_paragraph_separators_in_a_path_reach_the_log_escaped()
    {
        await using var server = await ParleyServer.StartAsync();
        var user = await ApiClient.CreateUserAsync(server);

        // U+2028 and U+2029 break a line in many log viewers: a forged entry could follow them.
        await user.Api.GetAsync("/chats/a%E2%80%A8forged%E2%80%A9b");

        Assert.Contains(server.Logs, l => l.Contains("a\\u2028forged\\u2029b", StringComparison.Ordinal));
        Assert.DoesNotContain(server.Logs, l => l.Any(c => c is '\u2028' or '\u2029'));
    }

    [Fact]
    public void Log_text_escapes_separators_and_lone_surrogates_but_keeps_whole_pairs()
    {
        // In one test, not as theory data: lone surrogates do not survive the runner's serialization.
        (string Text, string Logged)[] cases =
        [
            ("plain", "plain"),
            ("a\u2028b\u2029c", "a\\u2028b\\u2029c"),
            ("lone \ud800 high", "lone \\ud800 high"),
            ("lone \udc00 low", "lone \\udc00 low"),
            ("reversed \udc00\ud800", "reversed \\udc00\\ud800"),
            ("an emoji \ud83d\ude00 stays", "an emoji \ud83d\ude00 stays"),
        ];
        foreach (var (text, logged) in cases) Assert.Equal(logged, Parley.Server.Common.LogText.Escape(text));
    }

    [Fact]
    public void A_pair_cut_in_two_by_the_length_limit_leaves_its_first_half_escaped()
    {
        var text = new string('x', Parley.Server.Common.LogText.MaxLength - 1) + "\ud83d\ude00";
        Assert.Equal(new string('x', Parley.Server.Common.LogText.MaxLength - 1) + "\\ud83d...", Parley.Server.Common.LogText.Escape(text));
    }

    [Theory]
    [InlineData("javascript:alert(1)")]
    [InlineData("ABCDE")]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("<b>")]
    [InlineData("A B")]
    [InlineData("K!")]
    [InlineData("$")]
    [InlineData("\u200b")]
    public async Task An_avatar_that_is_not_initials_is_refused(string avatar)
    {
        var user = await ApiClient.CreateUserAsync(Server, "Initials Only");

        var response = await user.Api.PatchAsync("/users/me", new { avatar });

        Assert.Contains("avatar", response.AssertError(HttpStatusCode.BadRequest));
        Assert.Equal("IO", (await user.Api.GetAsync("/users/me")).Json.Str("avatar"));
    }

    [Theory]
    [InlineData("JD")]
    [InlineData("a")]
    [InlineData("AB12")]
    [InlineData("Éç")]
    [InlineData("李")]
    [InlineData("🦊")]
    [InlineData("👍🏽")]
    [InlineData("👨‍👩‍👧")]
    [InlineData("🇫🇷")]
    [InlineData("1️⃣")]
    [InlineData("❤️A")]
    [InlineData("🦊🦊🦊🦊")]
    public async Task Letters_digits_and_emoji_up_to_four_are_an_avatar(string avatar)
    {
        var user = await ApiClient.CreateUserAsync(Server);

        var response = await user.Api.PatchAsync("/users/me", new { avatar });

        response.AssertStatus(HttpStatusCode.OK, $"PATCH avatar {avatar}");
        Assert.Equal(avatar, response.Json.Str("avatar"));
    }

    [Fact]
    public async Task A_sender_marking_its_own_message_read_moves_nothing()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        var fromBob = (await bob.SendTextAsync(chatId, "unread by alice")).Str("id")!;
        var fromAlice = (await alice.SendTextAsync(chatId, "alice's own")).Str("id")!;

        var read = await alice.Api.PutAsync($"/messages/{fromAlice}/status", new { status = "read" });
        var delivered = await alice.Api.PutAsync($"/messages/{fromAlice}/status", new { status = "delivered" });

        read.AssertStatus(HttpStatusCode.OK, "PUT status read on an own message");
        // The answer is the message's status for the others: Bob has not received it yet.
        Assert.Equal("sent", read.Json.Str("status"));
        Assert.Equal("sent", delivered.Json.Str("status"));
        Assert.Equal(1, (await alice.ChatAsync(chatId)).Long("unreadCount"));
        var receipts = await bob.Api.GetAsync($"/messages/{fromBob}/receipts");
        Assert.Equal("sent", receipts.Json.EnumerateArray().Single().Str("status"));
    }
}
