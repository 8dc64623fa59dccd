using Parley.Server.Configuration;

namespace Parley.Server.Operations;

/// <summary>The settings a command of the server (<c>backup</c>, <c>tables create</c>) reads, from
/// the same places as the server: appsettings.json, the environment, then its own arguments.</summary>
internal static class CommandSettings
{
    public static ParleyOptions Read(string[] arguments) =>
        new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(arguments)
            .Build()
            .GetSection(ParleyOptions.Section).Get<ParleyOptions>() ?? new ParleyOptions();
}
