using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Storage;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Users;

/// <summary>The group system messages written before an account was deleted that name it as the
/// member added or removed say "Deleted account" from then on, wherever they are read (history, sync,
/// a socket's backlog, the chat list), and its old name is in none of them. A disappearing-messages
/// line reads with its sender's name like the other system lines.</summary>
public sealed class DeletedAccountSystemMessageTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private const string DeletedName = "Deleted account";
    private const string DayTimer = "turned on disappearing messages: new messages disappear after 24 hours";

    private ParleyServer Server => shared.Server;

    private static async Task DeleteAsync(TestUser user) =>
        (await user.Api.DeleteAsync("/users/me")).AssertStatus(HttpStatusCode.NoContent, "DELETE /users/me");

    private static bool Names(string text, params string[] words) => words.Any(w => text.Contains(w, StringComparison.Ordinal));

    private static List<JsonElement> Systems(IEnumerable<JsonElement> messages, string action) =>
        [.. messages.Where(m => m.Str("systemAction") == action)];

    [Fact]
    public async Task After_Ann_adds_Bob_and_Bob_deletes_his_account_every_copy_says_Ann_added_Deleted_account()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var quill = await ApiClient.CreateUserAsync(Server, "Bartholomew Quill");
        var carl = await ApiClient.CreateUserAsync(Server, "Carl");
        var annCursor = await ann.CurrentCursorAsync();
        var stayed = await ann.CreateGroupAsync("Stayed", carl);
        (await ann.Api.PostAsync($"/groups/{stayed}/members", new { memberIds = new[] { quill.Id } })).AssertStatus(HttpStatusCode.OK, "add Quill");
        var removedFrom = await ann.CreateGroupAsync("Removed from", carl);
        (await ann.Api.PostAsync($"/groups/{removedFrom}/members", new { memberIds = new[] { quill.Id } })).AssertStatus(HttpStatusCode.OK, "add Quill");
        (await ann.Api.DeleteAsync($"/groups/{removedFrom}/members/{quill.Id}")).AssertStatus(HttpStatusCode.OK, "remove Quill");

        // Before: the name and whose it is.
        var added = Systems(await ann.HistoryAsync(stayed), "member_added").Single();
        Assert.Equal(("Ann added Bartholomew Quill", quill.Id), (added.Str("content"), added.Str("affectedUserId")));

        await DeleteAsync(quill);

        foreach (var (groupId, action, sentence) in new[]
        {
            (stayed, "member_added", $"Ann added {DeletedName}"),
            (removedFrom, "member_added", $"Ann added {DeletedName}"),
            (removedFrom, "member_removed", $"Ann removed {DeletedName}"),
        })
        {
            foreach (var reader in new[] { ann, carl })
            {
                var message = Systems(await reader.HistoryAsync(groupId), action).Single();
                Assert.Equal((sentence, DeletedName, quill.Id), (message.Str("content"), message.Str("affectedUserName"), message.Str("affectedUserId")));
            }
        }

        // Sync from before the groups, and a fresh socket's backlog from there: the same words.
        var sync = await ann.SyncAllAsync(annCursor);
        var synced = sync.Events.Where(e => e.Str("type") == "message").Select(e => e.GetProperty("data")).ToList();
        Assert.Equal(2, Systems(synced, "member_added").Count);
        Assert.All(Systems(synced, "member_added"), m => Assert.Equal($"Ann added {DeletedName}", m.Str("content")));
        Assert.Equal($"Ann removed {DeletedName}", Systems(synced, "member_removed").Single().Str("content"));
        await using var fresh = await ann.ConnectAsync(Server, since: annCursor, name: "fresh");
        var backlogRemoved = await fresh.WaitForAsync(f => f.Type == "message" && f.Str("systemAction") == "member_removed",
            what: "the removal in the backlog");
        Assert.Equal($"Ann removed {DeletedName}", backlogRemoved.Str("content"));
        await fresh.WaitForAsync(f => f.Type == "message" && f.ChatId == stayed && f.Str("systemAction") == "member_left", what: "the leaving in the backlog");

        var readable = new List<string>();
        readable.AddRange(fresh.AllFrames.Select(f => f.Text));
        readable.AddRange(sync.Events.Select(e => e.GetRawText()));
        foreach (var groupId in new[] { stayed, removedFrom })
        {
            readable.AddRange((await ann.HistoryAsync(groupId)).Concat(await carl.HistoryAsync(groupId)).Select(m => m.GetRawText()));
        }
        readable.AddRange((await carl.ChatListAsync()).Select(c => c.GetRawText()));
        Assert.Contains(readable, text => text.Contains($"Ann added {DeletedName}", StringComparison.Ordinal));
        Assert.DoesNotContain(readable, text => Names(text, "Quill", "Bartholomew"));
    }

    [Fact]
    public async Task A_disappearing_messages_line_reads_with_its_senders_name_and_after_a_deletion_says_Deleted_account()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var quill = await ApiClient.CreateUserAsync(Server, "Bartholomew Quill");
        var direct = await ann.OpenChatWithAsync(quill);
        (await quill.Api.PutAsync($"/chats/{direct}/settings", new { disappearAfterSeconds = 86400 })).AssertStatus(HttpStatusCode.OK, "Quill sets the timer");
        var set = Systems(await ann.HistoryAsync(direct), "disappearing_messages").Single();
        Assert.Equal(($"Bartholomew Quill {DayTimer}", "Bartholomew Quill"), (set.Str("content"), set.Str("senderName")));

        // A rename: the line names the sender as the message does (senderName); what is said after
        // the rename says the new name.
        (await quill.Api.PatchAsync("/users/me", new { name = "Barty Q" })).AssertStatus(HttpStatusCode.OK, "rename");
        (await quill.Api.PutAsync($"/chats/{direct}/settings", new { disappearAfterSeconds = (int?)null })).AssertStatus(HttpStatusCode.OK, "off");
        var lines = Systems(await ann.MessagesOldestFirstAsync(direct), "disappearing_messages");
        Assert.All(lines, m => Assert.StartsWith(m.Str("senderName") + " turned o", m.Str("content")));
        Assert.Equal("Barty Q turned off disappearing messages", lines[^1].Str("content"));

        var annCursorBefore = await ann.CurrentCursorAsync();
        await DeleteAsync(quill);

        lines = Systems(await ann.MessagesOldestFirstAsync(direct), "disappearing_messages");
        Assert.Equal([$"{DeletedName} {DayTimer}", $"{DeletedName} turned off disappearing messages"], lines.Select(m => m.Str("content")));
        var readable = lines.Select(m => m.GetRawText()).Concat((await ann.ChatListAsync()).Select(c => c.GetRawText())).ToList();
        readable.AddRange((await ann.SyncAllAsync(annCursorBefore)).Events.Select(e => e.GetRawText()));
        Assert.DoesNotContain(readable, text => Names(text, "Quill", "Bartholomew", "Barty"));
    }

    [Fact]
    public async Task A_chat_summary_says_which_participants_are_deleted_accounts()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var gone = await ApiClient.CreateUserAsync(Server, "Gone");
        var groupId = await ann.CreateGroupAsync("Still listed", bob, gone);
        // As deletion did before it left groups: anonymized, still a member.
        await Server.Services.GetRequiredService<IAccountStore>().DeleteUserAsync(gone.Id, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

        var participants = (await ann.ChatAsync(groupId)).GetProperty("participants").EnumerateArray()
            .ToDictionary(p => p.Str("id")!, p => (p.Str("name"), p.Bool("deleted")));
        Assert.Equal((DeletedName, true), participants[gone.Id]);
        Assert.Equal(("Bob", false), participants[bob.Id]);
    }
}
