using System.Text;
using Parley.Server.Common;

namespace Parley.Tests.Operations;

/// <summary>The check every request body and WebSocket frame passes before its text is read: the
/// quick path (UTF-8 throughout, no \u escape) and the full read give the same answers.</summary>
public sealed class JsonUnicodeTests
{
    [Fact]
    public void Valid_text_passes_with_or_without_escapes_and_lone_surrogates_or_bad_bytes_do_not()
    {
        (string Json, bool Valid)[] cases =
        [
            ("{\"content\":\"plain\"}", true),
            ("{\"content\":\"an emoji 😀 as it is\"}", true),
            ("{\"content\":\"escaped \\u00e9 and a pair \\ud83d\\ude00\"}", true),
            ("{\"content\":\"a backslash then u: \\\\u\"}", true),
            ("{\"content\":\"lone \\ud800\"}", false),
            ("{\"\\udc00\":1}", false),
            ("{\"content\":\"reversed \\udc00\\ud800\"}", false),
        ];
        foreach (var (json, valid) in cases) Assert.True(valid == JsonUnicode.IsValid(Encoding.UTF8.GetBytes(json)), json);

        byte[] notUtf8 = [.. "{\"content\":\""u8, 0xff, 0xfe, .. "\"}"u8];
        Assert.False(JsonUnicode.IsValid(notUtf8));
    }
}
