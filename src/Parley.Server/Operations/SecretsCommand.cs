using Parley.Server.Auth;
using Parley.Server.Push;
using Parley.Server.Storage;

namespace Parley.Server.Operations;

/// <summary>
/// <c>dotnet Parley.Server.dll secrets seal</c> seals every secret the server reads back with
/// <c>Parley:Auth:SecretsKey</c>: those stored in clear (before a key was set) and those sealed with
/// <c>Parley:Auth:PreviousSecretsKey</c> (before the key was changed). The server's own keys are sealed
/// so at every start; this covers TOTP secrets and push subscriptions, so that afterwards nothing in
/// the store is in clear, and the previous key can be removed. It can run while the nodes serve.
/// <para>
/// <c>dotnet Parley.Server.dll secrets reset</c> is the way out when the value of the key is lost.
/// Nothing can open what was sealed with it, so the server would not start again. The command forgets
/// the server's own keys (the token signing key, the VAPID key and the key check); the next start makes
/// new ones, sealed with the value it is given. Access tokens signed before are then refused, and
/// clients refresh them (refresh tokens are stored as hashes, which no key seals); browsers subscribe to
/// push again; an account whose TOTP secret was sealed with the lost value signs in with a recovery
/// code, or support turns two-step off, and enrols again. Stop every node first: a running node keeps
/// signing with the old key.
/// </para>
/// </summary>
public static class SecretsCommand
{
    private const string Usage = "Usage: dotnet Parley.Server.dll secrets seal|reset [--Parley:Storage:...=<value>]";

    public static bool Matches(string[] args) => args.Length > 0 && args[0] == "secrets";

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length < 2 || args[1] is not ("seal" or "reset") || args.Skip(2).Any(a => !a.StartsWith("--", StringComparison.Ordinal)))
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }
        return args[1] == "seal"
            ? await StoreCommand.RunAsync(args[2..], "The stored secrets could not be sealed", SealAsync)
            : await StoreCommand.RunAsync(args[2..], "The server's keys could not be reset", async (store, _) =>
            {
                await store.ForgetServerKeysAsync([VapidKeys.SecretName, SecretSeal.CheckName]);
                Console.WriteLine("The signing key, the VAPID key and the secrets key check are forgotten; the next start makes new ones, "
                    + "sealed with Parley:Auth:SecretsKey when it is set. Clients refresh their access tokens, browsers subscribe to push again, "
                    + "and accounts whose TOTP secret was sealed with another value sign in with a recovery code and enrol again.");
                return 0;
            });
    }

    private static async Task<int> SealAsync(IParleyStore store, IServiceProvider services)
    {
        var seal = services.GetRequiredService<SecretSeal>();
        if (!seal.Seals)
        {
            Console.Error.WriteLine("The stored secrets could not be sealed: Parley:Auth:SecretsKey is not set.");
            return 1;
        }
        int sealedNow = 0, already = 0, changed = 0, unreadable = 0;
        await foreach (var stored in store.ReadStoredSecretsAsync(CancellationToken.None))
        {
            byte[]? resealed;
            try
            {
                resealed = seal.Reseal(stored);
            }
            catch (InvalidOperationException)
            {
                // Sealed with a key neither setting holds (a reset since): left as it is. The account
                // signs in with a recovery code; the push sender drops the subscription.
                unreadable++;
                continue;
            }
            if (resealed is null) already++;
            else if (await store.ReplaceStoredSecretAsync(stored, resealed)) sealedNow++;
            else changed++;
        }
        Console.WriteLine($"Sealed {sealedNow} stored secrets with Parley:Auth:SecretsKey; {already} were sealed with it already"
            + (changed > 0 ? $", {changed} changed while this ran (run it again to check them)" : "")
            + (unreadable > 0 ? $", {unreadable} are sealed with a value neither setting holds and were left as they are" : "") + ".");
        return 0;
    }
}
