using Parley.Server.Storage;
using Parley.Server.Storage.Rules;

namespace Parley.Tests.Storage.Rules;

public class StatusAndSyncRulesTests
{
    [Fact]
    public void A_watermark_moves_only_forward_and_never_past_the_last_message()
    {
        Assert.Equal(5, StatusRules.Target(upToSeq: 9, chatLastSeq: 5, current: 2));
        Assert.Equal(4, StatusRules.Target(upToSeq: 4, chatLastSeq: 5, current: 2));
        Assert.Null(StatusRules.Target(upToSeq: 2, chatLastSeq: 5, current: 2));
        Assert.Null(StatusRules.Target(upToSeq: 1, chatLastSeq: 5, current: 2));
    }

    [Fact]
    public void A_read_gives_each_other_sender_one_status_for_their_newest_message()
    {
        ReachedMessage[] reached = [new("m1", "alice", 1), new("m2", "bob", 2), new("m3", "alice", 3), new("m4", "carol", 4), new("m5", "carol", 5)];
        var statuses = StatusRules.PerSender(reached, "chat_1", readerId: "carol", read: true, now: 7);
        Assert.Equal([("alice", "m3"), ("bob", "m2")], statuses.Select(s => (s.SenderId, s.Status.MessageId)));
        Assert.All(statuses, s => Assert.Equal(new StatusData("chat_1", s.Status.MessageId, "carol", "read", 7), s.Status));
        Assert.Equal("delivered", StatusRules.PerSender(reached, "chat_1", "carol", read: false, now: 7)[0].Status.Status);
    }

    private static StoredEvent Event(long pos, EventKind kind = EventKind.Chat, MessageRecord? message = null) => new(pos, kind, "chat_1", [], message);

    private static MessageRecord Stub(string id) =>
        new(id, "chat_1", 0, 0, "", "", null, MessageTypes.Text, null, 0, null, null, null, null, null, null, null, false);

    [Fact]
    public void A_full_page_ends_at_the_complete_position_and_a_cut_page_at_its_last_event()
    {
        var (page, hasMore, cursor) = SyncPages.Cut([Event(7), Event(3), Event(5)], since: StreamCursor.AtFloor(2), upTo: StreamCursor.AtFloor(9), limit: 5);
        Assert.Equal([3L, 5, 7], page.Select(e => e.Pos));
        Assert.False(hasMore);
        Assert.Equal(StreamCursor.AtFloor(9), cursor);

        (page, hasMore, cursor) = SyncPages.Cut([Event(7), Event(3), Event(5)], since: StreamCursor.AtFloor(2), upTo: StreamCursor.AtFloor(9), limit: 2);
        Assert.Equal([3L, 5], page.Select(e => e.Pos));
        Assert.True(hasMore);
        Assert.Equal(StreamCursor.AtFloor(5), cursor);

        (_, _, cursor) = SyncPages.Cut([], since: StreamCursor.AtFloor(4), upTo: StreamCursor.AtFloor(3), limit: 2);
        Assert.Equal(StreamCursor.AtFloor(4), cursor);
    }

    [Fact]
    public void An_edit_reads_back_as_the_message_now_and_one_whose_message_is_gone_as_its_tombstone()
    {
        var now = Stub("msg_a") with { Content = "edited", EditedAt = 5 };
        List<StoredEvent> page = [Event(1, EventKind.MessageUpdated, Stub("msg_a")), Event(2, EventKind.MessageUpdated, Stub("msg_gone")), Event(3)];
        Assert.Equal(["msg_a", "msg_gone"], SyncPages.UpdatedMessageIds(page));
        var done = SyncPages.Complete(page, hasMore: true, cursor: StreamCursor.AtFloor(3), new Dictionary<string, MessageRecord> { ["msg_a"] = now });
        Assert.Equal([1L, 2, 3], done.Events.Select(e => e.Pos));
        Assert.Equal("edited", done.Events[0].Message!.Content);
        Assert.Equal("msg_gone", done.Events[1].Message!.Id);
        Assert.True(done.Events[1].Message!.Deleted);
        Assert.True(done.HasMore);
        Assert.Equal(StreamCursor.AtFloor(3), done.Cursor);
    }
}
