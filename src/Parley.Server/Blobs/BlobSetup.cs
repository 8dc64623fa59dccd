using Parley.Server.Configuration;

namespace Parley.Server.Blobs;

public static class BlobSetup
{
    public static IServiceCollection AddParleyBlobs(this IServiceCollection services, ParleyOptions options)
    {
        switch (options.Blobs.Provider.ToLowerInvariant())
        {
            case "directory":
                services.AddSingleton<IBlobStore, DirectoryBlobStore>();
                break;
            case "s3":
                services.AddSingleton<IBlobStore, S3BlobStore>();
                break;
            default:
                throw new InvalidOperationException($"Unknown Parley:Blobs:Provider '{options.Blobs.Provider}'. Use Directory or S3.");
        }
        services.AddSingleton<BlobDeletions>();
        services.AddHostedService<OrphanBlobSweep>();
        return services;
    }
}
