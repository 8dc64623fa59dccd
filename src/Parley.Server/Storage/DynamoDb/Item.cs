using System.Globalization;
using Amazon.DynamoDBv2.Model;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>Attribute values in and out: DynamoDB has no nulls in items, so an absent attribute
/// reads as null (or 0, or false) and a null is written by leaving the attribute out.</summary>
internal static class Item
{
    public static AttributeValue S(string value) => new() { S = value };
    public static AttributeValue N(long value) => new() { N = value.ToString(CultureInfo.InvariantCulture) };
    public static AttributeValue B(bool value) => new() { BOOL = value };
    public static AttributeValue Bytes(byte[] value) => new() { B = new MemoryStream(value) };
    public static AttributeValue Strings(IEnumerable<string> values) => new() { SS = values.ToList() };

    /// <summary>A key of the <c>Records</c> table.</summary>
    public static Dictionary<string, AttributeValue> Record(string pk, string sk) => new() { ["pk"] = S(pk), ["sk"] = S(sk) };

    public static Dictionary<string, AttributeValue> Key(string name, string value) => new() { [name] = S(value) };

    public static Dictionary<string, AttributeValue> Key(string hash, string hashValue, string range, string rangeValue) =>
        new() { [hash] = S(hashValue), [range] = S(rangeValue) };

    public static Dictionary<string, AttributeValue> Key(string hash, string hashValue, string range, long rangeValue) =>
        new() { [hash] = S(hashValue), [range] = N(rangeValue) };

    /// <summary>Sets <paramref name="name"/> unless <paramref name="value"/> is null.</summary>
    public static Dictionary<string, AttributeValue> With(this Dictionary<string, AttributeValue> item, string name, string? value)
    {
        if (value is not null) item[name] = S(value);
        return item;
    }

    public static Dictionary<string, AttributeValue> With(this Dictionary<string, AttributeValue> item, string name, long? value)
    {
        if (value is { } v) item[name] = N(v);
        return item;
    }

    public static Dictionary<string, AttributeValue> With(this Dictionary<string, AttributeValue> item, string name, bool value)
    {
        item[name] = B(value);
        return item;
    }

    public static string Str(this Dictionary<string, AttributeValue> item, string name) =>
        item.StrOrNull(name) ?? throw new InvalidDataException($"A stored item has no '{name}'.");

    public static string? StrOrNull(this Dictionary<string, AttributeValue> item, string name) =>
        item.TryGetValue(name, out var value) ? value.S : null;

    public static long Long(this Dictionary<string, AttributeValue> item, string name) =>
        item.TryGetValue(name, out var value) && value.N is { } n ? long.Parse(n, CultureInfo.InvariantCulture) : 0;

    public static long? LongOrNull(this Dictionary<string, AttributeValue> item, string name) =>
        item.TryGetValue(name, out var value) && value.N is { } n ? long.Parse(n, CultureInfo.InvariantCulture) : null;

    public static bool Bool(this Dictionary<string, AttributeValue> item, string name) =>
        item.TryGetValue(name, out var value) && value.BOOL == true;

    public static byte[]? BytesOrNull(this Dictionary<string, AttributeValue> item, string name) =>
        item.TryGetValue(name, out var value) && value.B is { } stream ? stream.ToArray() : null;

}
