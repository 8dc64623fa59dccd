using System.Text;
using Parley.Server.Realtime;
using Parley.Server.Storage;

namespace Parley.Tests.Realtime;

public sealed class SentCursorTests
{
    private static string Frame(SentCursor sent, string json)
    {
        var into = new byte[json.Length + sent.ExtraBytes];
        return Encoding.UTF8.GetString(into, 0, sent.WriteFrame(Encoding.UTF8.GetBytes(json), into));
    }

    [Fact]
    public void A_connection_skips_what_it_sent_and_its_frames_carry_the_cursor_a_sync_would_give()
    {
        var sent = new SentCursor();
        sent.Reset(StreamCursor.Of(10, [(3, 14)]));
        Assert.False(sent.Advance(3, 14));
        Assert.False(sent.Advance(5, 9));
        Assert.True(sent.Advance(5, 12));
        Assert.True(sent.Advance(1, 20));
        Assert.False(sent.Advance(1, 19));
        Assert.True(sent.Advance(3, 30));

        var expected = StreamCursor.Of(10, [(1, 20), (3, 30), (5, 12)]);
        Assert.Equal(expected.ToString(), sent.ToString());
        Assert.Equal($$"""{"type":"message","data":{"id":"m"},"cursor":"{{expected}}"}""", Frame(sent, """{"type":"message","data":{"id":"m"}}"""));
    }

    [Fact]
    public void With_one_writer_only_the_floor_moves()
    {
        var sent = new SentCursor();
        sent.Reset(StreamCursor.AtFloor(7));
        Assert.False(sent.Advance(null, 7));
        Assert.True(sent.Advance(null, 9));
        Assert.Equal("9", sent.ToString());
        Assert.Equal("""{"a":1,"cursor":"9"}""", Frame(sent, """{"a":1}"""));
    }

    [Fact]
    public void Many_writers_fit_the_room_it_asks_for()
    {
        var sent = new SentCursor();
        sent.Reset(StreamCursor.AtFloor(long.MaxValue - 1000));
        for (var w = StreamCursor.MaxWriters; w > 0; w--) Assert.True(sent.Advance(int.MaxValue - w, long.MaxValue - w));
        Assert.EndsWith($"\"cursor\":\"{sent}\"}}", Frame(sent, """{"a":1}"""));
        Assert.True(StreamCursor.TryParse(sent.ToString(), out var parsed));
        Assert.Equal(StreamCursor.MaxWriters, parsed.Entries.Count);
    }
}
