using System.Globalization;

namespace Parley.Server.Common;

public static class Paging
{
    /// <summary>Parses a <c>limit</c> query value: absent gives the default; otherwise a whole
    /// number from 1 to <paramref name="max"/>, else the 400 answer to give.</summary>
    public static bool TryParseLimit(string? text, int defaultValue, int max, out int limit, out IResult? refusal)
    {
        limit = defaultValue;
        refusal = null;
        if (text is null) return true;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out limit) && limit >= 1 && limit <= max) return true;
        refusal = ApiError.BadRequest($"limit must be a whole number from 1 to {max}.");
        return false;
    }
}
