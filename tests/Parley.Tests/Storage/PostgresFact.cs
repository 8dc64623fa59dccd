using Parley.Testing;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Parley.Tests.Storage;

/// <summary>A fact that needs PostgreSQL: skipped with a clear reason outside CI when none is
/// configured, and failing (not skipped) under CI=true.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (TestPostgres.SkipReason is { } reason) Skip = reason;
    }
}

/// <summary>A fact that needs DynamoDB: skipped with a clear reason outside CI when none is
/// configured, and failing (not skipped) under CI=true.</summary>
public sealed class DynamoFactAttribute : FactAttribute
{
    public DynamoFactAttribute()
    {
        if (TestDynamo.SkipReason is { } reason) Skip = reason;
    }
}

/// <summary>A fact that changes the store behind the server's back with SQL (a trigger): it runs
/// when the suite's servers are on SQLite or PostgreSQL, and is skipped on DynamoDB, which has no
/// way to make one chosen write fail from outside.</summary>
public sealed class SqlStoreFactAttribute : FactAttribute
{
    public SqlStoreFactAttribute()
    {
        if (TestDynamo.Enabled) Skip = "DynamoDB has no triggers: nothing outside the server can make one chosen write fail.";
    }
}

/// <summary>Marks a contract suite subclass whose backend is PostgreSQL.</summary>
public interface IRequiresPostgres;

/// <summary>Marks a contract suite subclass whose backend is DynamoDB (dynalite here).</summary>
public interface IRequiresDynamo;

/// <summary>Marks a contract suite subclass that needs the S3 server.</summary>
public interface IRequiresS3;

/// <summary>A fact of an abstract store suite: each sealed subclass runs it against its backend,
/// and a PostgreSQL (or S3) subclass is skipped like <see cref="PostgresFactAttribute"/> says.</summary>
[XunitTestCaseDiscoverer("Parley.Tests.Storage.StoreFactDiscoverer", "Parley.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class StoreFactAttribute : FactAttribute;

public sealed class StoreFactDiscoverer(IMessageSink diagnosticMessageSink) : FactDiscoverer(diagnosticMessageSink)
{
    public override IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        var type = testMethod.TestClass.Class.ToRuntimeType();
        if (typeof(IRequiresPostgres).IsAssignableFrom(type) && TestPostgres.SkipReason is { } reason)
        {
            return [new XunitSkippedDataRowTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(),
                discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod, reason)];
        }
        if (typeof(IRequiresDynamo).IsAssignableFrom(type) && TestDynamo.SkipReason is { } dynamoReason)
        {
            return [new XunitSkippedDataRowTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(),
                discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod, dynamoReason)];
        }
        if (typeof(IRequiresS3).IsAssignableFrom(type) && TestS3.SkipReason is { } s3Reason)
        {
            return [new XunitSkippedDataRowTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(),
                discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod, s3Reason)];
        }
        return base.Discover(discoveryOptions, testMethod, factAttribute);
    }
}
