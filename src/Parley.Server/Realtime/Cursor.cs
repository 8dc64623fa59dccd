using System.Globalization;

namespace Parley.Server.Realtime;

/// <summary>The resume cursor: an opaque string to clients, a position in the event stream to the server.</summary>
public static class Cursor
{
    public static string Encode(long position) => position.ToString(CultureInfo.InvariantCulture);

    public static bool TryDecode(string? text, out long position) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out position) && position >= 0;
}
