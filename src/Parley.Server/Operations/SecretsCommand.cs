using Parley.Server.Auth;
using Parley.Server.Push;

namespace Parley.Server.Operations;

/// <summary>
/// <c>dotnet Parley.Server.dll secrets reset</c>: the way out when the value of
/// <c>Parley:Auth:SecretsKey</c> is lost. Nothing can open what was sealed with it, so the server
/// would not start again. The command forgets the server's own keys (the token signing key, the
/// VAPID key and the key check); the next start makes new ones, sealed with the value it is given.
/// Access tokens signed before are then refused, and clients refresh them (refresh tokens are
/// stored as hashes, which no key seals); browsers subscribe to push again; an account whose TOTP
/// secret was sealed with the lost value signs in with a recovery code, or support turns two-step
/// off, and enrols again. Stop every node first: a running node keeps signing with the old key.
/// </summary>
public static class SecretsCommand
{
    private const string Usage = "Usage: dotnet Parley.Server.dll secrets reset [--Parley:Storage:...=<value>]";

    public static bool Matches(string[] args) => args.Length > 0 && args[0] == "secrets";

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length < 2 || args[1] != "reset" || args.Skip(2).Any(a => !a.StartsWith("--", StringComparison.Ordinal)))
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }
        return await StoreCommand.RunAsync(args[2..], "The server's keys could not be reset", async store =>
        {
            await store.ForgetServerKeysAsync([VapidKeys.SecretName, SecretSeal.CheckName]);
            Console.WriteLine("The signing key, the VAPID key and the secrets key check are forgotten; the next start makes new ones, "
                + "sealed with Parley:Auth:SecretsKey when it is set. Clients refresh their access tokens, browsers subscribe to push again, "
                + "and accounts whose TOTP secret was sealed with another value sign in with a recovery code and enrol again.");
            return 0;
        });
    }
}
