using Microsoft.Data.Sqlite;
using Parley.Server.Configuration;

namespace Parley.Server.Operations;

/// <summary>
/// <c>dotnet Parley.Server.dll backup &lt;file&gt;</c>: a consistent copy of the embedded SQLite store,
/// taken while the server runs and writes. <c>VACUUM INTO</c> reads the database in one read
/// transaction (WAL lets it run beside the writer), so the copy holds exactly the transactions
/// committed when it began. Restoring is starting a server with the copy as its <c>parley.db</c>.
/// </summary>
public static class BackupCommand
{
    public static bool Matches(string[] args) => args.Length > 0 && args[0] == "backup";

    public static int Run(string[] args)
    {
        if (args.Length < 2 || args[1].StartsWith("--", StringComparison.Ordinal))
        {
            Console.Error.WriteLine("Usage: dotnet Parley.Server.dll backup <file> [--Parley:DataDirectory=<dir>]");
            return 2;
        }
        var configuration = new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(args[2..])
            .Build();
        var options = configuration.GetSection(ParleyOptions.Section).Get<ParleyOptions>() ?? new ParleyOptions();
        if (!options.Storage.Provider.Equals("Sqlite", StringComparison.OrdinalIgnoreCase))
        {
            Console.Error.WriteLine("This store is PostgreSQL: back it up with its own tools, e.g. pg_dump --format=custom (see README, Operations).");
            return 2;
        }
        var source = Path.Combine(Path.GetFullPath(options.DataDirectory), "parley.db");
        var target = Path.GetFullPath(args[1]);
        if (!File.Exists(source))
        {
            Console.Error.WriteLine($"No Parley database at {source}; set --Parley:DataDirectory.");
            return 1;
        }
        if (File.Exists(target))
        {
            Console.Error.WriteLine($"{target} exists already; choose a new file.");
            return 1;
        }
        var started = System.Diagnostics.Stopwatch.StartNew();
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = source, Pooling = false, DefaultTimeout = 60 }.ToString()))
        {
            connection.Open();
            using var busy = connection.CreateCommand();
            busy.CommandText = "PRAGMA busy_timeout = 60000";
            busy.ExecuteNonQuery();
            using var vacuum = connection.CreateCommand();
            vacuum.CommandText = "VACUUM INTO $target";
            vacuum.Parameters.AddWithValue("$target", target);
            vacuum.ExecuteNonQuery();
        }
        Console.WriteLine($"Backed up {source} to {target} ({new FileInfo(target).Length:N0} bytes in {started.Elapsed.TotalSeconds:0.0} s).");
        return 0;
    }
}
