using Parley.Tests.Infrastructure;

namespace Parley.Tests.Messages;

/// <summary>The rows of a page repeat most of their text (the chat, the senders, their names), and the
/// embedded store hands the next row the previous row's string when the text is the same. Neighbours
/// that differ by one letter, have the same length or are not ASCII must each still come back exactly
/// as sent, through history and through sync.</summary>
public sealed class LookAlikeRowsTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    [Fact]
    public async Task Each_message_of_a_page_keeps_its_own_sender_and_text_when_its_neighbours_look_alike()
    {
        var ana = await ApiClient.CreateUserAsync(Server, "Ana");
        var bea = await ApiClient.CreateUserAsync(Server, "Bea");
        var zoeAccented = await ApiClient.CreateUserAsync(Server, "Zoë");
        var zoePlain = await ApiClient.CreateUserAsync(Server, "Zoe");
        var cursor = await bea.CurrentCursorAsync();
        var groupId = await ana.CreateGroupAsync("Look-alikes", bea, zoeAccented, zoePlain);

        (TestUser Sender, string Text)[] sent =
        [
            (ana, "same"), (ana, "same"), (bea, "same"), (bea, "samE"), (zoeAccented, "ñandú"),
            (zoeAccented, "ñandú"), (zoePlain, "ñandu"), (zoePlain, "Ж"), (ana, "Ж"), (ana, "a"), (bea, "b"), (bea, "b"),
        ];
        foreach (var (sender, text) in sent) await sender.SendTextAsync(groupId, text);

        var history = (await bea.MessagesOldestFirstAsync(groupId)).Where(m => m.Str("type") == "text").ToList();
        var synced = (await bea.SyncAllAsync(cursor)).Events
            .Where(e => e.Str("type") == "message" && e.GetProperty("data").Str("type") == "text")
            .Select(e => e.GetProperty("data")).ToList();
        foreach (var (name, messages) in new[] { ("history", history), ("sync", synced) })
        {
            Assert.Equal(sent.Length, messages.Count);
            for (var i = 0; i < sent.Length; i++)
            {
                var (sender, text) = sent[i];
                var got = messages[i];
                var where = $"{name}, message {i + 1}";
                Assert.True(text == got.Str("content"), $"{where}: content {got.Str("content")}, sent {text}");
                Assert.True(sender.Id == got.Str("senderId"), $"{where}: sender {got.Str("senderId")}, sent by {sender.Id}");
                Assert.True(sender.Name == got.Str("senderName"), $"{where}: sender name {got.Str("senderName")}, sent by {sender.Name}");
                Assert.True(groupId == got.Str("chatId"), $"{where}: chat {got.Str("chatId")}");
            }
        }
    }
}
