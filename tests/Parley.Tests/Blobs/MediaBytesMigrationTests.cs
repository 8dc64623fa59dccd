using System.Net;
using System.Net.Http.Headers;
using Microsoft.Data.Sqlite;
using Npgsql;
using Parley.Server.Blobs;
using Parley.Server.Storage.Postgres;
using Parley.Server.Storage.Sqlite;
using Parley.Testing;
using Parley.Tests.Infrastructure;
using Parley.Tests.Storage;

namespace Parley.Tests.Blobs;

/// <summary>Databases from before the blob store kept media bytes in a column (a database at the
/// step before the move is built here): the numbered
/// migration that drops it moves every file to the blob store first, and old media stays
/// downloadable.</summary>
public sealed class MediaBytesMigrationTests
{
    private static readonly byte[] Photo = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 7, 7, 7];

    private const string InsertOldPhoto =
        """
        INSERT INTO users (id, email, name, search_name, password_hash, confirmed, created_at, photo_media_id)
        VALUES ('old_user', 'old@example.com', 'Old', 'old', 'x', {0}, 1, 'media_old');
        INSERT INTO media (id, uploader_id, content_type, size, data, created_at)
        VALUES ('media_old', 'old_user', 'image/png', 11, @data, 1);
        """;

    private static async Task AssertPhotoServedAsync(ParleyServer server)
    {
        var viewer = await ApiClient.CreateUserAsync(server, "Viewer");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/media/media_old");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", viewer.AccessToken);
        using var response = await viewer.Api.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Photo, await response.Content.ReadAsByteArrayAsync());
        if (!TestS3.ForServers)
        {
            Assert.Equal(Photo, await File.ReadAllBytesAsync(Path.Combine(server.DataDirectory, "blobs", "ld", "media_old")));
        }
    }

    [Fact]
    public async Task Sqlite_media_bytes_move_to_the_blob_store()
    {
        var directory = Path.Combine(Path.GetTempPath(), "parley-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, "parley.db");
        using (var connection = new SqliteConnection($"Data Source={file};Pooling=false"))
        {
            connection.Open();
            SqliteMigrations.Apply(connection, new DirectoryBlobStore(Path.Combine(directory, "unused")), upTo: SqliteMigrations.MediaBytesStep - 1);
            using var insert = connection.CreateCommand();
            insert.CommandText = string.Format(System.Globalization.CultureInfo.InvariantCulture, InsertOldPhoto, 1);
            insert.Parameters.AddWithValue("@data", Photo);
            insert.ExecuteNonQuery();
        }

        await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?> { ["Parley:Storage:Provider"] = "Sqlite" }, directory);
        await AssertPhotoServedAsync(server);
        using var check = new SqliteConnection($"Data Source={file};Mode=ReadOnly;Pooling=false");
        check.Open();
        using var columns = check.CreateCommand();
        columns.CommandText = "SELECT count(*) FROM pragma_table_info('media') WHERE name = 'data'";
        Assert.Equal(0L, (long)columns.ExecuteScalar()!);
        await server.StopAsync();
        await TestBackend.ReleaseAsync(directory);
        try { Directory.Delete(directory, recursive: true); } catch (IOException) { /* best effort */ }
    }

    [PostgresFact]
    public async Task Postgres_media_bytes_move_to_the_blob_store()
    {
        var directory = Path.Combine(Path.GetTempPath(), "parley-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var database = await TestPostgres.CreateDatabaseAsync();
        try
        {
            await using (var connection = new NpgsqlConnection(TestPostgres.ConnectionStringFor(database)))
            {
                await connection.OpenAsync();
                await PostgresMigrations.ApplyAsync(connection, new DirectoryBlobStore(Path.Combine(directory, "unused")), CancellationToken.None, upTo: PostgresMigrations.MediaBytesStep - 1);
                await using var insert = new NpgsqlCommand(string.Format(System.Globalization.CultureInfo.InvariantCulture, InsertOldPhoto, "true"), connection);
                insert.Parameters.AddWithValue("data", Photo);
                await insert.ExecuteNonQueryAsync();
            }

            // The test host keeps a server's database name in its data directory: this one.
            await File.WriteAllTextAsync(Path.Combine(directory, "postgres-database"), database);
            await using var server = await ParleyServer.StartAsync(new Dictionary<string, string?>
            {
                ["Parley:Storage:Provider"] = "Postgres",
                ["Parley:Storage:ConnectionString"] = TestPostgres.ConnectionStringFor(database),
            }, directory);
            await AssertPhotoServedAsync(server);
            await using (var check = new NpgsqlConnection(TestPostgres.ConnectionStringFor(database)))
            {
                await check.OpenAsync();
                await using var columns = new NpgsqlCommand("SELECT count(*) FROM information_schema.columns WHERE table_name = 'media' AND column_name = 'data'", check);
                Assert.Equal(0L, (long)(await columns.ExecuteScalarAsync())!);
            }
            await server.StopAsync();
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await TestBackend.ReleaseAsync(directory);
            await TestPostgres.DropDatabaseAsync(database);
            try { Directory.Delete(directory, recursive: true); } catch (IOException) { /* best effort */ }
        }
    }
}
