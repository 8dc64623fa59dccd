using Microsoft.Data.Sqlite;

namespace Parley.Server.Operations;

/// <summary>
/// <c>dotnet Parley.Server.dll backup &lt;file&gt;</c>: a consistent copy of the embedded SQLite store,
/// taken while the server runs and writes. <c>VACUUM INTO</c> reads the database in one read
/// transaction (WAL lets it run beside the writer), so the copy holds exactly the transactions
/// committed when it began. Media bytes are not in the database: with the <c>Directory</c> blob
/// store, the blob directory is copied afterwards next to it (<c>&lt;file&gt;.blobs</c>). Blobs are
/// written before the rows that name them and never change, so every media row in the copy has its
/// file (unless that media was deleted while the copy ran: then it stays deleted). With S3, the
/// bucket is backed up by S3's own means (versioning, replication). Restoring is starting a server
/// with the copy as its <c>parley.db</c> and the blob copy as its <c>blobs</c> directory.
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
        var options = CommandSettings.Read(args[2..]);
        if (options.Storage.Provider.Equals("DynamoDb", StringComparison.OrdinalIgnoreCase))
        {
            Console.Error.WriteLine("This store is DynamoDB: back its tables up with DynamoDB's own means, point-in-time recovery (which 'tables create' turns on) or aws dynamodb create-backup.");
            return 2;
        }
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
        var blobsInDirectory = options.Blobs.Provider.Equals("Directory", StringComparison.OrdinalIgnoreCase);
        var blobSource = Path.Combine(Path.GetFullPath(options.DataDirectory), "blobs");
        var blobTarget = target + ".blobs";
        if (File.Exists(target) || (blobsInDirectory && Path.Exists(blobTarget)))
        {
            Console.Error.WriteLine($"{target} (or {blobTarget}) exists already; choose a new file.");
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
        if (!blobsInDirectory)
        {
            Console.WriteLine($"Media bytes are in the S3 bucket {options.Blobs.S3.Bucket}: back it up by S3's means (versioning, replication).");
            return 0;
        }
        var (files, bytes) = CopyBlobs(blobSource, blobTarget);
        Console.WriteLine($"Copied the media files of {blobSource} to {blobTarget} ({files:N0} files, {bytes:N0} bytes).");
        return 0;
    }

    /// <summary>Copies every finished blob file (never one still being written: those have a
    /// temporary name until they are complete).</summary>
    private static (int Files, long Bytes) CopyBlobs(string source, string target)
    {
        Directory.CreateDirectory(target);
        if (!Directory.Exists(source)) return (0, 0);
        var files = 0;
        var bytes = 0L;
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            if (file.EndsWith(".tmp", StringComparison.Ordinal)) continue;
            var copy = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            try
            {
                File.Copy(file, copy);
            }
            catch (FileNotFoundException)
            {
                continue; // deleted since it was listed: its media is gone from the store too
            }
            files++;
            bytes += new FileInfo(copy).Length;
        }
        return (files, bytes);
    }
}
