using Parley.Server.Storage;
using Parley.Server.Storage.Rules;

namespace Parley.Tests.Storage.Rules;

public sealed class StreamCursorTests
{
    private static StreamCursor Parse(string text)
    {
        Assert.True(StreamCursor.TryParse(text, out var cursor), $"'{text}' should parse");
        return cursor;
    }

    [Fact]
    public void A_single_writer_cursor_is_a_plain_number_and_every_number_handed_out_before_reads_as_one()
    {
        Assert.Equal("0", StreamCursor.Start.ToString());
        Assert.Equal("42", StreamCursor.AtFloor(42).ToString());
        var legacy = Parse("42");
        Assert.Equal(StreamCursor.AtFloor(42), legacy);
        Assert.Equal(42, legacy.Bound(null));
        Assert.Equal(42, legacy.Bound(7));
    }

    [Fact]
    public void Writers_ahead_of_the_floor_travel_in_the_text_in_ascending_order()
    {
        var cursor = StreamCursor.Of(10, [(5, 12), (2, 15), (3, 9)]);
        Assert.Equal("10_2-15_5-12", cursor.ToString());
        Assert.Equal(cursor, Parse(cursor.ToString()));
        Assert.Equal(15, cursor.Bound(2));
        Assert.Equal(12, cursor.Bound(5));
        Assert.Equal(10, cursor.Bound(3));
        Assert.True(cursor.Covers(2, 15));
        Assert.False(cursor.Covers(5, 13));
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("-1")]
    [InlineData("+5")]
    [InlineData(" 5")]
    [InlineData("10_2-5")]
    [InlineData("10_2-10")]
    [InlineData("10_5-12_2-15")]
    [InlineData("10_2-12_2-15")]
    [InlineData("10_2")]
    [InlineData("10_2-")]
    [InlineData("10_-12")]
    [InlineData("10__2-12")]
    [InlineData("99999999999999999999")]
    [InlineData("10_99999999999-12")]
    public void Text_this_server_never_writes_is_not_a_cursor(string text) =>
        Assert.False(StreamCursor.TryParse(text, out _));

    [Fact]
    public void Too_many_writers_is_not_a_cursor()
    {
        var text = "1" + string.Concat(Enumerable.Range(1, StreamCursor.MaxWriters + 1).Select(w => $"_{w}-5"));
        Assert.False(StreamCursor.TryParse(text, out _));
    }

    [Fact]
    public void Advancing_past_an_event_moves_only_its_writer_or_the_floor_of_a_single_writer_store()
    {
        var start = StreamCursor.AtFloor(10);
        Assert.Equal(StreamCursor.AtFloor(11), start.Advance(null, 11));
        var afterTwo = start.Advance(2, 14);
        Assert.Equal("10_2-14", afterTwo.ToString());
        Assert.Same(afterTwo, afterTwo.Advance(2, 13));
        Assert.Equal("10_2-14_3-20", afterTwo.Advance(3, 20).ToString());
    }

    [Fact]
    public void A_page_moves_each_writer_up_to_what_was_committed_but_not_past_its_last_event()
    {
        var since = StreamCursor.Of(10, [(2, 15)]);
        var upTo = StreamCursor.Of(20, [(1, 30), (2, 25)]);

        Assert.Equal("20_1-30_2-25", since.PageEnd(upTo, last: null).ToString());
        // A cut page holds everything up to its last event, 18: writer 2 stood at 15 already.
        Assert.Equal("18", since.PageEnd(upTo, last: 18).ToString());
        // A cut page never moves a writer back.
        Assert.Equal("12_2-15", since.PageEnd(upTo, last: 12).ToString());
    }

    [Fact]
    public void A_cursor_is_known_only_when_no_writer_lies_beyond_what_was_committed()
    {
        var current = StreamCursor.Of(20, [(1, 30)]);
        Assert.True(StreamCursor.AtFloor(20).IsWithin(current));
        Assert.True(StreamCursor.Of(5, [(1, 30), (4, 20)]).IsWithin(current));
        Assert.False(StreamCursor.AtFloor(21).IsWithin(current));
        Assert.False(StreamCursor.Of(5, [(1, 31)]).IsWithin(current));
        Assert.False(StreamCursor.Of(5, [(4, 21)]).IsWithin(current));
    }

    [Fact]
    public void A_sync_page_of_two_writers_is_in_position_order_and_its_cursor_resumes_after_it()
    {
        List<StoredEvent> events =
        [
            new(14, EventKind.Chat, "chat_1", []) { Writer = 1 },
            new(11, EventKind.Chat, "chat_1", []) { Writer = 1 },
            new(12, EventKind.Chat, "chat_2", []) { Writer = 2 },
        ];
        var since = StreamCursor.AtFloor(10);
        var upTo = StreamCursor.Of(13, [(1, 14)]);

        var (page, hasMore, cursor) = SyncPages.Cut([.. events], since, upTo, limit: 2);
        Assert.Equal([11L, 12], page.Select(e => e.Pos));
        Assert.True(hasMore);
        Assert.Equal("12", cursor.ToString());

        (page, hasMore, cursor) = SyncPages.Cut([.. events.Where(e => !cursor.Covers(e.Writer, e.Pos))], cursor, upTo, limit: 2);
        Assert.Equal([14L], page.Select(e => e.Pos));
        Assert.False(hasMore);
        Assert.Equal(upTo, cursor);
    }
}
