using System.Collections.Concurrent;
using System.Reflection;

namespace Parley.Server.Realtime;

/// <summary>
/// Kestrel keeps the last request target it parsed on each HTTP/1.1 connection (the raw target and
/// its query, in private fields) so that the next request with the same target can reuse the
/// strings. An upgraded connection never has a next request, yet keeps them for as long as the
/// socket stays open: with <c>/ws?token=</c> that is two copies of the access token, about 2 KiB a
/// socket, and a credential left in memory for hours. Kestrel clears the same fields itself when a
/// request's target is <c>/</c>, and reparses when they are empty, so clearing them is always safe.
/// The fields are found by name once per type; on a Kestrel without them nothing is cleared (a
/// test names the fields, so a framework update that renames them is noticed).
/// </summary>
internal static class KestrelRequestLine
{
    private static readonly string[] CachedTargetFields = ["_parsedRawTarget", "_parsedQueryString"];
    private static readonly ConcurrentDictionary<Type, FieldInfo[]> FieldsByType = new();

    /// <summary>Clears the cached target of the connection behind <paramref name="requestFeature"/>
    /// (Kestrel's request feature is its connection object).</summary>
    public static void Forget(object requestFeature)
    {
        foreach (var field in FieldsOf(requestFeature.GetType())) field.SetValue(requestFeature, null);
    }

    /// <summary>The cached-target fields of a type or of its base types; empty when it has none.</summary>
    public static FieldInfo[] FieldsOf(Type type) => FieldsByType.GetOrAdd(type, static t =>
    {
        var found = new List<FieldInfo>();
        for (var current = t; current is not null; current = current.BaseType)
        {
            foreach (var name in CachedTargetFields)
            {
                if (current.GetField(name, BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.DeclaredOnly) is { FieldType: var fieldType } field
                    && fieldType == typeof(string))
                {
                    found.Add(field);
                }
            }
        }
        return [.. found];
    });
}
