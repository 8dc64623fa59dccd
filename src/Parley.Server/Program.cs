using Parley.Server;

var app = ParleyApp.Build(args);
await app.RunAsync();
