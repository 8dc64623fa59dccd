using Parley.Server;
using Parley.Server.Operations;

if (BackupCommand.Matches(args)) return BackupCommand.Run(args);
if (TablesCommand.Matches(args)) return await TablesCommand.RunAsync(args);

var app = ParleyApp.Build(args);
await app.RunAsync();
return 0;
