namespace Parley.Testing;

/// <summary>The store a suite's test servers keep their data in.</summary>
public enum TestStore { Sqlite, Postgres, DynamoDb }

/// <summary>Where a suite's test servers keep media bytes.</summary>
public enum TestBlobs { Directory, S3 }

/// <summary>
/// The backend every test server of a suite runs on, picked the same way for every suite:
/// <c>PARLEY_TEST_STORE</c> is <c>sqlite</c> (the default: a file in the server's data directory) or
/// <c>postgres</c> (a database of its own on <see cref="TestPostgres"/>) or <c>dynamodb</c> (tables of
/// its own on <see cref="TestDynamo"/>), and <c>PARLEY_TEST_BLOBS</c>
/// is <c>directory</c> (the default) or <c>s3</c> (a bucket of its own on <see cref="TestS3"/>).
/// The database and bucket names are kept in the server's data directory, so a server started again
/// on the same directory finds the same data; <see cref="ReleaseAsync"/> drops them.
/// </summary>
public static class TestBackend
{
    public static TestStore Store => Environment.GetEnvironmentVariable("PARLEY_TEST_STORE")?.ToLowerInvariant() switch
    {
        null or "" or "sqlite" => TestStore.Sqlite,
        "postgres" => TestStore.Postgres,
        "dynamodb" => TestStore.DynamoDb,
        var other => throw new InvalidOperationException($"PARLEY_TEST_STORE is '{other}': use sqlite, postgres or dynamodb."),
    };

    public static TestBlobs Blobs => Environment.GetEnvironmentVariable("PARLEY_TEST_BLOBS")?.ToLowerInvariant() switch
    {
        null or "" or "directory" => TestBlobs.Directory,
        "s3" => TestBlobs.S3,
        var other => throw new InvalidOperationException($"PARLEY_TEST_BLOBS is '{other}': use directory or s3."),
    };

    /// <summary>The server settings that put a test server on this data directory onto the suite's
    /// backend (creating its database on first use), with the test's own settings over them. A test
    /// that picks its own store or blob provider in <paramref name="overrides"/> gets no database or
    /// bucket for it.</summary>
    public static async Task<Dictionary<string, string?>> SettingsForAsync(string dataDirectory, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var settings = new Dictionary<string, string?>();
        if (Store == TestStore.Postgres && overrides?.ContainsKey("Parley:Storage:Provider") != true)
        {
            settings["Parley:Storage:Provider"] = "Postgres";
            settings["Parley:Storage:ConnectionString"] = await TestPostgres.DatabaseForAsync(dataDirectory);
        }
        if (Store == TestStore.DynamoDb && overrides?.ContainsKey("Parley:Storage:Provider") != true)
        {
            foreach (var (key, value) in TestDynamo.Settings(await TestDynamo.PrefixForAsync(dataDirectory))) settings[key] = value;
        }
        if (Blobs == TestBlobs.S3 && overrides?.ContainsKey("Parley:Blobs:Provider") != true)
        {
            if (TestS3.Endpoint is null) throw new InvalidOperationException("PARLEY_TEST_BLOBS=s3 needs PARLEY_TEST_S3, the address of an S3-compatible server.");
            foreach (var (key, value) in TestS3.Settings(await TestS3.BucketForAsync(dataDirectory))) settings[key] = value;
        }
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>()) settings[key] = value;
        return settings;
    }

    /// <summary>Drops the database and bucket of a data directory (call it once its server has stopped for good).</summary>
    public static async Task ReleaseAsync(string dataDirectory)
    {
        await TestPostgres.DropDatabaseOfAsync(dataDirectory);
        await TestS3.DropBucketOfAsync(dataDirectory);
    }
}
