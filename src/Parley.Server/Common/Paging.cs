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

    /// <summary>Parses a <c>lastKey</c> (a position this server gave out) into the exclusive upper
    /// bound of the next page. Absent, empty, <c>null</c> and <c>undefined</c> (what JavaScript
    /// clients send for "no key") all mean the first page.</summary>
    public static bool TryParseLastKey(string? text, out long before, out IResult? refusal)
    {
        before = long.MaxValue;
        refusal = null;
        if (IsNoKey(text)) return true;
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out before) && before >= 1) return true;
        refusal = ApiError.BadRequest("lastKey is not a key this server gave out.");
        return false;
    }

    /// <summary>Whether a page key stands for "no key": absent, empty, or JavaScript's null/undefined.</summary>
    public static bool IsNoKey(string? text) =>
        string.IsNullOrWhiteSpace(text) || text.Trim() is "null" or "undefined";
}
