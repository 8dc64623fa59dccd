using Parley.Tests.Storage;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Realtime;

/// <summary>A send that fails inside the server still tells the client which send it was.</summary>
public sealed class SendFailureTests
{
    private const string Poison = "the store refuses this one";

    [SqlStoreFact]
    public async Task A_send_that_fails_in_the_store_gets_an_internal_error_frame_with_its_clientMessageId()
    {
        await using var server = await ParleyServer.StartAsync();
        var alice = await ApiClient.CreateUserAsync(server);
        var bob = await ApiClient.CreateUserAsync(server);
        var chatId = await alice.OpenChatWithAsync(bob);
        // A trigger makes the database itself refuse one message, as a failing disk or a lost connection would.
        ServerDatabase.Execute(server,
            $"CREATE TRIGGER refuse_poison BEFORE INSERT ON messages WHEN NEW.content = '{Poison}' BEGIN SELECT RAISE(ABORT, 'refused by a test'); END;",
            $"""
            CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $f$
            BEGIN IF NEW.content = '{Poison}' THEN RAISE EXCEPTION 'refused by a test'; END IF; RETURN NEW; END $f$;
            CREATE TRIGGER refuse_poison BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION refuse_poison();
            """);
        await using var socket = await alice.ConnectAsync(server);

        // Several sends in flight: the failed one is named, the others are acknowledged.
        await socket.SendAsync(new { action = "sendMessage", chatId, content = "before", clientMessageId = "c-before" });
        await socket.SendAsync(new { action = "sendMessage", chatId, content = Poison, clientMessageId = "c-poison" });
        await socket.SendAsync(new { action = "sendMessage", chatId, content = "after", clientMessageId = "c-after" });

        var error = await socket.WaitForErrorAsync();
        Assert.Equal("c-poison", error.Str("clientMessageId"));
        Assert.Equal("internal_error", error.Str("code"));
        await socket.WaitForAckAsync("c-before");
        await socket.WaitForAckAsync("c-after");
        await socket.AssertAliveAsync();
        Assert.Equal(["before", "after"], (await bob.MessagesOldestFirstAsync(chatId)).Select(m => m.Str("content")));
    }
}
