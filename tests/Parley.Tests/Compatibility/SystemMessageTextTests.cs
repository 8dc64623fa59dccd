using System.Net;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Compatibility;

/// <summary>System messages carry a readable sentence in <c>content</c>, which front ends render as
/// is, the same in history, in /sync and live.</summary>
public sealed class SystemMessageTextTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    [Fact]
    public async Task Every_system_message_reads_as_a_sentence_in_history_sync_and_live_frames()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var ben = await ApiClient.CreateUserAsync(Server, "Ben");
        var cy = await ApiClient.CreateUserAsync(Server, "Cy");
        var cursor = await ann.CurrentCursorAsync();
        await using var annSocket = await ann.ConnectAsync(Server);

        var groupId = await ann.CreateGroupAsync("Trip", cy);
        (await ann.Api.PostAsync($"/groups/{groupId}/members", new { memberIds = new[] { ben.Id } })).AssertStatus(HttpStatusCode.OK, "add Ben");
        (await ann.Api.PutAsync($"/groups/{groupId}/info", new { name = "Trip 2" })).AssertStatus(HttpStatusCode.OK, "rename");
        (await ann.Api.DeleteAsync($"/groups/{groupId}/members/{cy.Id}")).AssertStatus(HttpStatusCode.OK, "remove Cy");
        (await ben.Api.DeleteAsync($"/groups/{groupId}/members/{ben.Id}")).AssertStatus(HttpStatusCode.OK, "Ben leaves");

        string[] expected =
        [
            "Ann created the group “Trip”",
            "Ann added Ben",
            "Ann renamed the group to “Trip 2”",
            "Ann removed Cy",
            "Ben left",
        ];

        var history = await ann.MessagesOldestFirstAsync(groupId);
        Assert.Equal(expected, history.Select(m => m.Field("content")).ToArray());
        Assert.All(history, m => Assert.Equal("system", m.Str("type")));

        var synced = (await ann.SyncAllAsync(cursor)).Events
            .Where(e => e.Str("type") == "message" && e.GetProperty("data").Str("chatId") == groupId)
            .Select(e => e.GetProperty("data").Field("content")).ToArray();
        Assert.Equal(expected, synced);

        foreach (var sentence in expected)
        {
            await annSocket.WaitForAsync(f => f.Type == "message" && f.ChatId == groupId && f.Str("content") == sentence, what: sentence);
        }

        // The chat list's preview is the last sentence too.
        var summary = await ann.ChatAsync(groupId);
        Assert.Equal("Ben left", summary.GetProperty("lastMessage").Str("content"));
    }
}
