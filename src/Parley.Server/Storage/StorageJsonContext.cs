using System.Text.Json.Serialization;

namespace Parley.Server.Storage;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(StatusData))]
internal sealed partial class StorageJsonContext : JsonSerializerContext;
