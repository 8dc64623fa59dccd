using System.Net;
using System.Text;
using Parley.Tests.Cluster;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Messages;

/// <summary>Text a user deleted for everyone, or edited away, is gone from the store's files, not
/// only from its answers: the message row, the search index and the space they freed.</summary>
public sealed class DeletedTextOnDiskTests
{
    [Fact]
    public async Task The_text_of_a_message_deleted_for_everyone_or_edited_away_is_in_no_file_of_the_store()
    {
        await using var server = await ParleyServer.StartAsync();
        var words = await DeleteAndEditAsync(server);
        await server.StopAsync();

        var raw = ServerDatabase.RawFiles(server);
        Assert.True(Holds(raw, words.Kept), "the text of the messages kept is in the files (the check can see text)");
        foreach (var form in words.Gone) Assert.False(Holds(raw, form), $"'{form}' is still in the store's files");
    }

    /// <summary>While the server runs too: the write-ahead log still holds the pages as they were
    /// before the delete, so it is emptied once the writer is idle (the checkpointer's first tick
    /// with nothing committed), not only at a stop.</summary>
    [Fact]
    public async Task The_text_of_a_message_deleted_or_edited_leaves_the_files_soon_while_the_server_runs()
    {
        await using var server = await ParleyServer.StartAsync();
        var words = await DeleteAndEditAsync(server);

        await ClusterWait.WaitUntilAsync(() =>
        {
            var raw = ServerDatabase.RawFiles(server);
            Assert.True(Holds(raw, words.Kept), "the text of the messages kept is in the files (the check can see text)");
            return Task.FromResult(!words.Gone.Any(form => Holds(raw, form)));
        }, "the deleted and edited words leave the store's files", seconds: 30);

        // The store goes on: a send after the log was emptied is stored and read back.
        var ann = words.Ann;
        var after = await ann.SendTextAsync(words.ChatId, "after the log was emptied");
        var history = await ann.Api.GetAsync($"/chats/{words.ChatId}/messages?limit=5");
        history.AssertStatus(HttpStatusCode.OK, "history");
        Assert.Contains(history.Json.GetProperty("messages").EnumerateArray(), m => m.Str("id") == after.Str("id"));
    }

    private sealed record Words(string Kept, string[] Gone, TestUser Ann, string ChatId);

    private static bool Holds(byte[] raw, string text) => raw.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;

    /// <summary>Ann deletes one message for everyone and edits another; twenty of Bob's stay. Every
    /// word is in the search index before it changes.</summary>
    private static async Task<Words> DeleteAndEditAsync(ParleyServer server)
    {
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        var deletedWord = "Deletedword" + Guid.NewGuid().ToString("N");
        var editedWord = "Editedword" + Guid.NewGuid().ToString("N");
        var keptWord = "Keptword" + Guid.NewGuid().ToString("N");
        var deleted = await ann.SendTextAsync(chatId, $"{deletedWord} goes away");
        // A long message spills out of its row's page onto overflow pages, which a delete frees
        // whole: its word sits at the end, on such a page.
        var longWord = "Longword" + Guid.NewGuid().ToString("N");
        var deletedLong = await ann.SendTextAsync(chatId, string.Join(' ', Enumerable.Repeat("padding", 480)) + " " + longWord);
        var edited = await ann.SendTextAsync(chatId, $"{editedWord} is a typo");
        for (var i = 0; i < 20; i++) await bob.SendTextAsync(chatId, $"{keptWord} number {i} stays");
        // A search catches the index up, so every word is in it before it changes.
        foreach (var word in new[] { deletedWord, editedWord, keptWord, longWord })
        {
            var found = await bob.Api.GetAsync("/search?q=" + word);
            found.AssertStatus(HttpStatusCode.OK, "search");
            Assert.NotEmpty(found.Json.GetProperty("messages").EnumerateArray());
        }

        (await ann.Api.DeleteAsync($"/messages/{deleted.Str("id")}?for=everyone")).AssertStatus(HttpStatusCode.NoContent, "delete for everyone");
        (await ann.Api.DeleteAsync($"/messages/{deletedLong.Str("id")}?for=everyone")).AssertStatus(HttpStatusCode.NoContent, "delete the long one for everyone");
        (await ann.Api.PatchAsync($"/messages/{edited.Str("id")}", new { content = "fixed" })).AssertStatus(HttpStatusCode.OK, "edit");
        string[] gone = [.. new[] { deletedWord, editedWord, longWord }.SelectMany(w => new[] { w, w.ToLowerInvariant() })];
        return new Words(keptWord, gone, ann, chatId);
    }
}
