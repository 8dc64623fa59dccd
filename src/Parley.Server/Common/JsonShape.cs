using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Parley.Server.Common;

/// <summary>Checks that a parsed JSON body fits the type an endpoint binds it to, naming the first
/// field that does not (<c>"messageId must be a string."</c>), so binding itself never fails.
/// Unknown members are ignored, as the serializer ignores them.</summary>
public static class JsonShape
{
    public static string? Check(JsonElement value, Type type, JsonSerializerOptions options) => Check(value, type, options, "");

    /// <summary>The JSON names of a body type's members, for sentences such as "send a JSON object with ...".</summary>
    public static IReadOnlyList<string> MemberNames(Type type, JsonSerializerOptions options) =>
        options.GetTypeInfo(type) is { Kind: JsonTypeInfoKind.Object } info ? info.Properties.Select(p => p.Name).ToList() : [];

    private static string? Check(JsonElement value, Type type, JsonSerializerOptions options, string path)
    {
        var underlying = Nullable.GetUnderlyingType(type);
        if (value.ValueKind == JsonValueKind.Null)
        {
            return !type.IsValueType || underlying is not null ? null : $"{Name(path)} must not be null.";
        }
        type = underlying ?? type;
        if (type == typeof(string)) return value.ValueKind == JsonValueKind.String ? null : $"{Name(path)} must be a string.";
        if (type == typeof(bool))
        {
            return value.ValueKind is JsonValueKind.True or JsonValueKind.False ? null : $"{Name(path)} must be true or false.";
        }
        if (IsWholeNumber(type)) return FitsWholeNumber(value, type, options) ? null : $"{Name(path)} must be a whole number.";
        if (type == typeof(double) || type == typeof(float) || type == typeof(decimal))
        {
            return value.ValueKind == JsonValueKind.Number || ReadsFromString(value, options) && double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out _)
                ? null : $"{Name(path)} must be a number.";
        }
        if (type == typeof(JsonElement) || type == typeof(object) || typeof(JsonNode).IsAssignableFrom(type) || type.IsEnum) return null;

        var info = options.GetTypeInfo(type);
        switch (info.Kind)
        {
            case JsonTypeInfoKind.Object:
                if (value.ValueKind != JsonValueKind.Object)
                {
                    return path.Length == 0 ? "The request body must be a JSON object." : $"{Name(path)} must be an object.";
                }
                var comparison = options.PropertyNameCaseInsensitive ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
                foreach (var member in value.EnumerateObject())
                {
                    var property = info.Properties.FirstOrDefault(p => string.Equals(p.Name, member.Name, comparison));
                    if (property is null) continue;
                    var error = Check(member.Value, property.PropertyType, options, path.Length == 0 ? property.Name : path + "." + property.Name);
                    if (error is not null) return error;
                }
                return null;
            case JsonTypeInfoKind.Enumerable when info.ElementType is { } element:
                if (value.ValueKind != JsonValueKind.Array) return $"{Name(path)} must be an array.";
                var index = 0;
                foreach (var item in value.EnumerateArray())
                {
                    var error = Check(item, element, options, $"{path}[{index++}]");
                    if (error is not null) return error;
                }
                return null;
            case JsonTypeInfoKind.Dictionary when info.ElementType is { } valueType:
                if (value.ValueKind != JsonValueKind.Object) return $"{Name(path)} must be an object.";
                foreach (var member in value.EnumerateObject())
                {
                    var error = Check(member.Value, valueType, options, path + "." + member.Name);
                    if (error is not null) return error;
                }
                return null;
            default:
                return null;
        }
    }

    private static string Name(string path) => path.Length == 0 ? "The request body" : path;

    private static bool IsWholeNumber(Type type) =>
        type == typeof(int) || type == typeof(long) || type == typeof(short) || type == typeof(byte)
        || type == typeof(uint) || type == typeof(ulong) || type == typeof(ushort) || type == typeof(sbyte);

    private static bool ReadsFromString(JsonElement value, JsonSerializerOptions options) =>
        value.ValueKind == JsonValueKind.String && options.NumberHandling.HasFlag(JsonNumberHandling.AllowReadingFromString);

    private static bool FitsWholeNumber(JsonElement value, Type type, JsonSerializerOptions options)
    {
        if (value.ValueKind == JsonValueKind.Number)
        {
            return type == typeof(ulong) ? value.TryGetUInt64(out _)
                : value.TryGetInt64(out var n) && n >= MinOf(type) && (ulong)Math.Max(n, 0) <= MaxOf(type);
        }
        if (!ReadsFromString(value, options)) return false;
        return type == typeof(ulong) ? ulong.TryParse(value.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out _)
            : long.TryParse(value.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) && parsed >= MinOf(type) && (ulong)Math.Max(parsed, 0) <= MaxOf(type);
    }

    private static long MinOf(Type type) =>
        type == typeof(int) ? int.MinValue : type == typeof(short) ? short.MinValue : type == typeof(sbyte) ? sbyte.MinValue
        : type == typeof(long) ? long.MinValue : 0;

    private static ulong MaxOf(Type type) =>
        type == typeof(int) ? int.MaxValue : type == typeof(short) ? (ulong)short.MaxValue : type == typeof(sbyte) ? (ulong)sbyte.MaxValue
        : type == typeof(byte) ? byte.MaxValue : type == typeof(ushort) ? ushort.MaxValue : type == typeof(uint) ? uint.MaxValue
        : type == typeof(long) ? long.MaxValue : ulong.MaxValue;
}
