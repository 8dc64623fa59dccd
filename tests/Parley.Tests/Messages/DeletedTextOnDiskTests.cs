using System.Net;
using System.Text;
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
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        var deletedWord = "Deletedword" + Guid.NewGuid().ToString("N");
        var editedWord = "Editedword" + Guid.NewGuid().ToString("N");
        var keptWord = "Keptword" + Guid.NewGuid().ToString("N");
        var deleted = await ann.SendTextAsync(chatId, $"{deletedWord} goes away");
        var edited = await ann.SendTextAsync(chatId, $"{editedWord} is a typo");
        for (var i = 0; i < 20; i++) await bob.SendTextAsync(chatId, $"{keptWord} number {i} stays");
        // A search catches the index up, so all three words are in it before they change.
        foreach (var word in new[] { deletedWord, editedWord, keptWord })
        {
            var found = await bob.Api.GetAsync("/search?q=" + word);
            found.AssertStatus(HttpStatusCode.OK, "search");
            Assert.NotEmpty(found.Json.GetProperty("messages").EnumerateArray());
        }

        (await ann.Api.DeleteAsync($"/messages/{deleted.Str("id")}?for=everyone")).AssertStatus(HttpStatusCode.NoContent, "delete for everyone");
        (await ann.Api.PatchAsync($"/messages/{edited.Str("id")}", new { content = "fixed" })).AssertStatus(HttpStatusCode.OK, "edit");
        await server.StopAsync();

        var raw = ServerDatabase.RawFiles(server);
        Assert.True(raw.AsSpan().IndexOf(Encoding.UTF8.GetBytes(keptWord)) >= 0, "the text of the messages kept is in the files (the check can see text)");
        foreach (var word in new[] { deletedWord, editedWord })
        {
            foreach (var form in new[] { word, word.ToLowerInvariant() })
            {
                Assert.True(raw.AsSpan().IndexOf(Encoding.UTF8.GetBytes(form)) < 0, $"'{form}' is still in the store's files");
            }
        }
    }
}
