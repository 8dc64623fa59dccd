using Parley.Testing;

namespace Parley.Tests.Infrastructure;

/// <summary>A fact that needs the S3 server (skipped outside CI when none is configured).</summary>
public sealed class S3FactAttribute : FactAttribute
{
    public S3FactAttribute()
    {
        if (TestS3.SkipReason is { } reason) Skip = reason;
    }
}
