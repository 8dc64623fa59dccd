using SQLitePCL;

namespace Parley.Server.Storage.Sqlite;

/// <summary>
/// Sets SQLite's process-wide options before its first connection opens. By default every call
/// into SQLite (each column of each row read) locks its connection's mutex, and every allocation
/// locks a global one to keep memory statistics; together about a twentieth of the CPU of a history
/// page. Parley never uses one connection on two threads at once (the writer's is the writer's
/// thread's; a reader is taken from the pool, used inline and given back), so it needs neither.
/// </summary>
internal static class SqliteThreading
{
    private static int _configured;

    /// <summary>Once per process. If SQLite has already started (a connection opened before, as
    /// tools and tests may), it refuses the change and keeps its defaults, which are safe.</summary>
    public static void Configure()
    {
        if (Interlocked.Exchange(ref _configured, 1) == 1) return;
        Batteries_V2.Init();
        raw.sqlite3_config(raw.SQLITE_CONFIG_MULTITHREAD);
        raw.sqlite3_config(raw.SQLITE_CONFIG_MEMSTATUS, 0);
    }
}
