using Parley.Server.Common;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Operations;

/// <summary>How every text limit counts and cuts: by characters (code points), a surrogate pair
/// being one character and never split.</summary>
public sealed class TextLengthTests
{
    [Fact]
    public void A_surrogate_pair_counts_as_one_character_and_a_lone_surrogate_as_one_too()
    {
        Assert.Equal(0, TextLength.Count(""));
        Assert.Equal(5, TextLength.Count("héllo"));
        Assert.Equal(1, TextLength.Count(Texts.Emoji));
        Assert.Equal(4096, TextLength.Count(Texts.Repeat(Texts.Emoji, 4096)));
        Assert.Equal(3, TextLength.Count("a" + Texts.Emoji + "b"));
        // In one test, not as theory data: lone surrogates do not survive the runner's serialization.
        Assert.Equal(2, TextLength.Count("\ud800x"));
        Assert.Equal(2, TextLength.Count("x\udc00"));
        Assert.Equal(2, TextLength.Count("\udc00\ud800"));
    }

    [Fact]
    public void Exceeds_compares_characters_not_UTF16_units()
    {
        Assert.False(TextLength.Exceeds(Texts.Repeat(Texts.Emoji, 4096), 4096));
        Assert.True(TextLength.Exceeds(Texts.Repeat(Texts.Emoji, 4097), 4096));
        Assert.False(TextLength.Exceeds(new string('x', 4095) + Texts.Emoji, 4096));
        Assert.True(TextLength.Exceeds(new string('x', 4097), 4096));
        Assert.False(TextLength.Exceeds("", 0));
    }

    [Fact]
    public void Cutting_keeps_whole_pairs_and_marks_a_shortened_text()
    {
        Assert.Equal(Texts.Repeat(Texts.Emoji, 3), TextLength.First(Texts.Repeat(Texts.Emoji, 5), 3));
        Assert.Equal("x" + Texts.Emoji, TextLength.First("x" + Texts.Emoji + Texts.Emoji, 2));
        Assert.Equal("short", TextLength.First("short", 10));
        Assert.Equal("", TextLength.First("text", 0));
        Assert.Equal(Texts.Repeat(Texts.Emoji, 2), TextLength.Shorten(Texts.Repeat(Texts.Emoji, 2), 2));
        Assert.Equal(Texts.Repeat(Texts.Emoji, 2) + "…", TextLength.Shorten(Texts.Repeat(Texts.Emoji, 3), 2));
    }
}
