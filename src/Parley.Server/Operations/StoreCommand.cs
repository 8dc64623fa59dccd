using Parley.Server.Storage;

namespace Parley.Server.Operations;

/// <summary>Runs a command that works on the store beside the running server (<c>two-step off</c>, <c>secrets seal</c>,
/// <c>secrets reset</c>): the server's own services, not started, on the store its settings name
/// (its own settings, or <c>--Parley:...</c> arguments). Only the store is opened. A store that does
/// not answer, or a setting it refuses, is one line on standard error and exit code 1.</summary>
internal static class StoreCommand
{
    public static async Task<int> RunAsync(string[] settings, string failure, Func<IParleyStore, IServiceProvider, Task<int>> work)
    {
        try
        {
            await using var app = ParleyApp.Build([.. settings, "--Logging:LogLevel:Default=Warning"]);
            var store = app.Services.GetRequiredService<IParleyStore>();
            await store.InitializeAsync(CancellationToken.None);
            return await work(store, app.Services);
        }
        catch (Exception ex) when (StoreUnavailable.Is(ex) || ex is InvalidOperationException)
        {
            Console.Error.WriteLine($"{failure}: {StartupFailure.Describe(ex)}");
            return 1;
        }
    }
}
