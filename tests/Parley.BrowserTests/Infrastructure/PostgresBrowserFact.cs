using Parley.Testing;

namespace Parley.BrowserTests.Infrastructure;

/// <summary>A test that needs PostgreSQL (its server runs on a database of its own whatever the suite's
/// backend): skipped with the reason outside CI when none is configured, run (and failing) under CI.</summary>
public sealed class PostgresBrowserFactAttribute : FactAttribute
{
    public PostgresBrowserFactAttribute()
    {
        Timeout = Limits.TestMs;
        if (TestPostgres.SkipReason is { } reason) Skip = reason;
    }
}
