using Microsoft.Data.Sqlite;
using Parley.Testing;

namespace Parley.Tests.Storage;

/// <summary>What a test of a SQLite file from before a change (a schema step, a page size) shares: a
/// data directory of its own, released and deleted afterwards, a way to take the file back to before
/// a step, and a read-only look at the file.</summary>
public abstract class SqliteMigrationTest(string name) : IAsyncLifetime
{
    protected static readonly Dictionary<string, string?> Sqlite = new() { ["Parley:Storage:Provider"] = "Sqlite" };

    protected string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "parley-tests", name + "-" + Guid.NewGuid().ToString("N"));

    protected string DatabaseFile => Path.Combine(DataDirectory, "parley.db");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await TestBackend.ReleaseAsync(DataDirectory);
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { /* best effort */ }
    }

    /// <summary>Runs <paramref name="undo"/> on the stopped server's file and marks it as at
    /// <paramref name="version"/>, so the steps after it run again at the next start.</summary>
    protected async Task TakeBackAsync(string undo, int version)
    {
        await TestBackend.ReleaseAsync(DataDirectory);
        using var connection = new SqliteConnection($"Data Source={DatabaseFile};Pooling=false");
        connection.Open();
        using var back = connection.CreateCommand();
        back.CommandText = undo + $"PRAGMA user_version = {version};";
        back.ExecuteNonQuery();
    }

    /// <summary>The database file opened read-only, for a look at what a stopped (or running) server left in it.</summary>
    protected SqliteConnection OpenFileReadOnly()
    {
        var connection = new SqliteConnection($"Data Source={DatabaseFile};Mode=ReadOnly;Pooling=false");
        connection.Open();
        return connection;
    }
}
