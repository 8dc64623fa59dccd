using Parley.Server.Common;

namespace Parley.Server.Operations;

/// <summary>
/// <c>dotnet Parley.Server.dll two-step off &lt;email or phone number&gt;</c>: turns two-step
/// verification off for a user who lost both their authenticator and their recovery codes, once
/// support has made sure of who they are. They sign in with their password again and may enrol anew.
/// It runs beside the server, on the store the settings name (the server's own settings, or
/// <c>--Parley:...</c> arguments after the address).
/// </summary>
public static class TwoStepCommand
{
    private const string Usage = "Usage: dotnet Parley.Server.dll two-step off <email or phone number> [--Parley:Storage:...=<value>]";

    public static bool Matches(string[] args) => args.Length > 0 && args[0] == "two-step";

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length < 3 || args[1] != "off" || args[2].StartsWith("--", StringComparison.Ordinal))
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }
        var address = args[2].Trim();
        var byPhone = address.StartsWith('+');
        if ((byPhone ? Validation.Phone(address) : Validation.Email(address)) is { } problem)
        {
            Console.Error.WriteLine(problem);
            return 2;
        }
        return await StoreCommand.RunAsync(args[3..], "Two-step verification could not be turned off", async (store, _) =>
        {
            var user = byPhone ? await store.FindUserByPhoneAsync(address) : await store.FindUserByEmailAsync(Validation.NormalizeEmail(address));
            if (user is null)
            {
                Console.Error.WriteLine($"No account has the {(byPhone ? "phone number" : "email")} {address}.");
                return 1;
            }
            var wasOn = (await store.GetMfaAsync(user.Id))?.Enabled == true;
            await store.DisableMfaAsync(user.Id);
            Console.WriteLine(wasOn
                ? $"Two-step verification is off for {user.Id} ({address}): they sign in with their password and may turn it on again."
                : $"Two-step verification was not on for {user.Id} ({address}); nothing changed.");
            return 0;
        });
    }
}
