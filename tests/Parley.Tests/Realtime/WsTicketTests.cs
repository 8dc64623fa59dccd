using System.Net;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Realtime;

/// <summary><c>POST /ws/ticket</c> and <c>/ws?ticket=</c>: a browser opens its socket without its
/// access token in the URL; the ticket works once.</summary>
public sealed class WsTicketTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    private static async Task<string> TicketAsync(TestUser user)
    {
        var answer = await user.Api.PostAsync("/ws/ticket", null);
        answer.AssertStatus(HttpStatusCode.OK, "POST /ws/ticket");
        Assert.Equal(30, answer.Json.GetProperty("expiresIn").GetInt32());
        var ticket = answer.Json.Str("ticket")!;
        Assert.DoesNotContain(user.AccessToken, ticket);
        return ticket;
    }

    private async Task<HttpStatusCode?> RefusalAsync(string ticket)
    {
        try
        {
            await using var socket = await WsClient.ConnectAsync(Server, token: null, ticket: ticket, handshake: false);
            return null;
        }
        catch (WsRefusedException refused)
        {
            return refused.Status;
        }
    }

    [Fact]
    public async Task A_ticket_opens_one_socket_for_its_user_and_is_spent()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        var ticket = await TicketAsync(bob);

        await using (var socket = await WsClient.ConnectAsync(Server, token: null, ticket: ticket))
        {
            // The socket is Bob's: his messages arrive on it.
            await ann.SendTextAsync(chatId, "via ticket");
            await socket.WaitForMessageAsync(chatId, "via ticket");
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await RefusalAsync(ticket));
    }

    [Fact]
    public async Task Unknown_tickets_are_refused_with_401_and_a_ticket_needs_a_signed_in_caller()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, await RefusalAsync("made-up"));
        Assert.Equal(HttpStatusCode.Unauthorized, await RefusalAsync(""));
        Assert.Equal(HttpStatusCode.Unauthorized, await RefusalAsync(new string('x', 500)));
        using var anonymous = Server.Api();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync("/ws/ticket", null)).Status);
    }

    [Fact]
    public async Task A_ticket_of_a_session_that_ended_is_refused()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var ticket = await TicketAsync(ann);
        (await ann.Api.DeleteAsync("/users/me")).AssertStatus(HttpStatusCode.NoContent, "DELETE /users/me");
        Assert.Equal(HttpStatusCode.Unauthorized, await RefusalAsync(ticket));
    }

    [Fact]
    public async Task Logging_out_closes_the_socket_a_ticket_of_that_session_opened_and_only_that_one()
    {
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(Server, email);
        var phone = await Accounts.LoginAsync(Server, email);
        var laptop = await Accounts.LoginAsync(Server, email);
        using var phoneApi = Server.Api(phone.AccessToken);
        using var laptopApi = Server.Api(laptop.AccessToken);
        var phoneTicket = (await phoneApi.PostAsync("/ws/ticket", null)).Json.Str("ticket")!;
        var unusedTicket = (await phoneApi.PostAsync("/ws/ticket", null)).Json.Str("ticket")!;
        var laptopTicket = (await laptopApi.PostAsync("/ws/ticket", null)).Json.Str("ticket")!;
        await using var phoneSocket = await WsClient.ConnectAsync(Server, token: null, ticket: phoneTicket, name: "phone");
        await using var laptopSocket = await WsClient.ConnectAsync(Server, token: null, ticket: laptopTicket, name: "laptop");

        using var anonymous = Server.Api();
        (await anonymous.PostAsync("/auth/logout", new { refreshToken = phone.RefreshToken })).AssertStatus(HttpStatusCode.NoContent, "logout");

        await phoneSocket.WaitForEndAsync();
        Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.PolicyViolation, phoneSocket.CloseStatus);
        // A ticket the ended session asked for opens nothing any more; the other session goes on.
        Assert.Equal(HttpStatusCode.Unauthorized, await RefusalAsync(unusedTicket));
        await laptopSocket.AssertAliveAsync();
    }

    [Fact]
    public async Task A_user_cannot_pile_up_unused_tickets()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var answers = new List<ApiClient.Response>();
        for (var i = 0; i < 25; i++) answers.Add(await ann.Api.PostAsync("/ws/ticket", null));
        Assert.Equal(20, answers.Count(a => a.Status == HttpStatusCode.OK));
        Assert.Equal(HttpStatusCode.TooManyRequests, answers[^1].Status);
        // The refusal says when to try again, as every 429 does.
        Assert.True(answers[^1].Raw.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), "429 without Retry-After");
    }

    [Fact]
    public async Task Tickets_asked_for_all_at_once_still_keep_to_the_cap()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");

        var statuses = await Task.WhenAll(Enumerable.Range(0, 40).Select(async _ => (await ann.Api.PostAsync("/ws/ticket", null)).Status));

        Assert.Equal(20, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(20, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
    }
}
