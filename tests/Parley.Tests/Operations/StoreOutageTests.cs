using System.Net;
using Parley.Testing;
using Parley.Tests.Infrastructure;
using Parley.Tests.Storage;

namespace Parley.Tests.Operations;

/// <summary>While the store refuses the server, requests answer 503 with a sentence and
/// <c>Retry-After</c>, a send over a socket an <c>unavailable</c> error (clients retry both), the log
/// says so in one line; once the store is back, everything works.</summary>
public sealed class StoreOutageTests
{
    [PostgresFact]
    public async Task While_PostgreSQL_refuses_the_server_requests_answer_503_and_once_it_is_back_they_work_again()
    {
        // The server connects as a role of its own, so the outage leaves the test's administrator connection alone.
        await using var outage = await PostgresOutage.CreateAsync();
        await using var server = await ParleyServer.StartAsync(outage.Settings);
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        await ann.SendTextAsync(chatId, "before the outage");
        await using var annSocket = await ann.ConnectAsync(server, await ann.CurrentCursorAsync());

        await outage.BeginAsync();
        foreach (var request in new Func<Task<ApiClient.Response>>[]
        {
            () => ann.Api.GetAsync($"/chats/{chatId}/messages"),
            () => ann.Api.PostAsync($"/chats/{chatId}/messages", new { content = "during the outage", clientMessageId = "c-outage-1" }),
            () => bob.Api.GetAsync("/chats"),
        })
        {
            var answer = await request();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.Status);
            Assert.Equal("The server's store is not answering at the moment; try again shortly.", answer.Error);
            Assert.NotNull(answer.Raw.Headers.RetryAfter);
        }
        // Over the socket: an error frame naming the send, with a code that says to send it again.
        await annSocket.SendAsync(new { action = "sendMessage", chatId, content = "sent over the socket", clientMessageId = "c-outage-2" });
        var refused = await annSocket.WaitForTypeAsync("error", f => f.Str("clientMessageId") == "c-outage-2");
        Assert.Equal("unavailable", refused.Str("code"));
        Assert.Contains(server.Logs, l => l.Contains("answered 503: the store is not answering", StringComparison.Ordinal));
        Assert.DoesNotContain(server.Logs, l => l.Contains("   at Npgsql", StringComparison.Ordinal) || l.Contains("An unhandled exception", StringComparison.Ordinal));

        // Back: the send the client retries goes through once, and history has everything.
        await outage.EndAsync();
        var retried = await ann.Api.PostAsync($"/chats/{chatId}/messages", new { content = "during the outage", clientMessageId = "c-outage-1" });
        Assert.Equal(HttpStatusCode.Created, retried.Status);
        await annSocket.SendAsync(new { action = "sendMessage", chatId, content = "sent over the socket", clientMessageId = "c-outage-2" });
        await annSocket.WaitForAckAsync("c-outage-2");
        await ann.SendTextAsync(chatId, "after the outage");
        var history = await bob.Api.GetAsync($"/chats/{chatId}/messages");
        Assert.Equal(HttpStatusCode.OK, history.Status);
        Assert.Equal(new[] { "after the outage", "sent over the socket", "during the outage", "before the outage" },
            history.Json.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("content").GetString()!).ToArray());
    }
}
