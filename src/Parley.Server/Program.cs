using Parley.Server;
using Parley.Server.Operations;

if (BackupCommand.Matches(args)) return BackupCommand.Run(args);
if (TablesCommand.Matches(args)) return await TablesCommand.RunAsync(args);
if (TwoStepCommand.Matches(args)) return await TwoStepCommand.RunAsync(args);
if (SecretsCommand.Matches(args)) return await SecretsCommand.RunAsync(args);

WebApplication app;
try
{
    app = ParleyApp.Build(args);
    await app.StartAsync();
}
catch (Exception ex) when (ex is not OutOfMemoryException)
{
    // A server that cannot start says why in one line and exits, rather than aborting with a trace.
    return StartupFailure.Report(ex);
}
await app.WaitForShutdownAsync();
await app.DisposeAsync();
return 0;
