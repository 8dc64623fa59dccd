using Parley.Server.Storage;
using Parley.Server.Storage.Rules;

namespace Parley.Tests.Storage.Rules;

public class MessageRulesTests
{
    private static MessageRecord Message(string sender = "alice", long pos = 10, string type = MessageTypes.Text, bool deleted = false) =>
        new("msg_1", "chat_1", 3, pos, sender, "Alice", null, type, deleted ? null : "hello", 1, null, null, null, null, null,
            "{\"mediaId\":\"media_1\"}", null, deleted);

    private static MemberRecord Member(string userId, long joinedPos, string chatId = "chat_1") =>
        new(chatId, userId, MemberRoles.Member, 1, 0, joinedPos, 0, 0, 0, 0, 0);

    [Fact]
    public void A_reply_quotes_the_first_hundred_characters_and_nothing_of_a_deleted_message()
    {
        var longText = new string('x', 150);
        Assert.Equal(new string('x', MessageRules.QuoteLength), MessageRules.Quote(longText, deleted: false));
        Assert.Equal("short", MessageRules.Quote("short", deleted: false));
        Assert.Null(MessageRules.Quote("secret", deleted: true)); // no quote text: rendered as a deleted quote
        Assert.Equal("", MessageRules.Quote(null, deleted: false));
        // Code points, not UTF-16 units: an emoji at the cut stays whole.
        var emoji = new string('x', 99) + "😀😀";
        Assert.Equal(new string('x', 99) + "😀", MessageRules.Quote(emoji, deleted: false));
    }

    [Fact]
    public void A_send_needs_membership_then_gives_back_a_retry_then_needs_the_replied_message()
    {
        Assert.Equal(SendOutcome.NotMember, MessageRules.CheckSend(senderIsMember: false, isRetry: true, replyFound: false));
        Assert.Equal(SendOutcome.Duplicate, MessageRules.CheckSend(senderIsMember: true, isRetry: true, replyFound: false));
        Assert.Equal(SendOutcome.ReplyNotFound, MessageRules.CheckSend(senderIsMember: true, isRetry: false, replyFound: false));
        Assert.Null(MessageRules.CheckSend(senderIsMember: true, isRetry: false, replyFound: true));
    }

    [Fact]
    public void Only_the_sender_who_sees_a_message_changes_it_and_never_a_system_or_deleted_one()
    {
        Assert.Equal(ChangeOutcome.NotFound, MessageRules.CheckChange(null, Member("alice", 0), "alice"));
        Assert.Equal(ChangeOutcome.NotFound, MessageRules.CheckChange(Message(), null, "alice"));
        Assert.Equal(ChangeOutcome.NotFound, MessageRules.CheckChange(Message(pos: 10), Member("alice", 10), "alice"));
        Assert.Equal(ChangeOutcome.NotFound, MessageRules.CheckChange(Message(), Member("alice", 0, "chat_2"), "alice"));
        Assert.Equal(ChangeOutcome.NotSender, MessageRules.CheckChange(Message(), Member("bob", 0), "bob"));
        Assert.Equal(ChangeOutcome.NotChangeable, MessageRules.CheckChange(Message(type: MessageTypes.System), Member("alice", 0), "alice"));
        Assert.Equal(ChangeOutcome.NotChangeable, MessageRules.CheckChange(Message(deleted: true), Member("alice", 0), "alice"));
        Assert.Equal(ChangeOutcome.Done, MessageRules.CheckChange(Message(), Member("alice", 0), "alice"));
    }

    [Fact]
    public void Hiding_needs_only_that_the_member_sees_the_message()
    {
        Assert.True(MessageRules.CanHide(Message(sender: "alice"), Member("bob", 0)));
        Assert.False(MessageRules.CanHide(Message(pos: 5), Member("bob", 5)));
        Assert.False(MessageRules.CanHide(null, Member("bob", 0)));
    }

    [Fact]
    public void Deleting_for_everyone_drops_content_and_media_and_editing_stamps_the_time()
    {
        var deleted = MessageRules.DeletedForEveryone(Message());
        Assert.True(deleted.Deleted);
        Assert.Null(deleted.Content);
        Assert.Null(deleted.MediaJson);
        var edited = MessageRules.Edited(Message(), "changed", 42);
        Assert.Equal("changed", edited.Content);
        Assert.Equal(42, edited.EditedAt);
    }
}
