using System.Text.Json;

namespace Parley.Server.Common;

/// <summary>The JSON settings of the API: camelCase, nulls left out, strict about what it reads.</summary>
public static class AppJson
{
    public static readonly JsonSerializerOptions Options = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        options.MaxDepth = 32;
        return options;
    }
}
