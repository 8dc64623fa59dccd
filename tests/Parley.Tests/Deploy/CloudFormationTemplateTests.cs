using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Parley.Server.Configuration;
using Parley.Server.Storage.DynamoDb;

namespace Parley.Tests.Deploy;

/// <summary>The AWS deployment (<c>deploy/aws/parley.template.json</c>): linted by cfn-lint, and
/// read here for what Parley needs from it. Nothing is deployed: there is no AWS account here.</summary>
public sealed class CloudFormationTemplateTests
{
    private readonly JsonElement _template = DeployFiles.LoadTemplate();

    private JsonElement Resources => _template.GetProperty("Resources");

    private JsonElement Resource(string name) => Resources.GetProperty(name);

    private IEnumerable<(string Name, JsonElement Properties)> ResourcesOfType(string type) =>
        Resources.EnumerateObject()
            .Where(r => r.Value.GetProperty("Type").GetString() == type)
            .Select(r => (r.Name, r.Value.GetProperty("Properties")));

    [CfnLintFact]
    public async Task The_template_passes_cfn_lint()
    {
        Assert.True(DeployFiles.CfnLint is not null, "cfn-lint is not installed");

        var (exitCode, output) = await DeployFiles.RunAsync(DeployFiles.CfnLint!, "--format", "parseable", DeployFiles.Template);

        Assert.True(exitCode == 0, $"cfn-lint exited with {exitCode}:\n{output}");
    }

    [Fact]
    public void Every_reference_names_a_parameter_resource_condition_or_pseudo_parameter()
    {
        var parameters = _template.GetProperty("Parameters").EnumerateObject().Select(p => p.Name).ToHashSet();
        var resources = Resources.EnumerateObject().Select(r => r.Name).ToHashSet();
        var conditions = _template.GetProperty("Conditions").EnumerateObject().Select(c => c.Name).ToHashSet();
        var problems = new List<string>();

        void Check(JsonElement node, string at)
        {
            if (node.ValueKind == JsonValueKind.Array)
            {
                var i = 0;
                foreach (var item in node.EnumerateArray()) Check(item, $"{at}[{i++}]");
                return;
            }
            if (node.ValueKind != JsonValueKind.Object) return;
            foreach (var member in node.EnumerateObject())
            {
                switch (member.Name)
                {
                    case "Ref" when member.Value.ValueKind == JsonValueKind.String:
                        var name = member.Value.GetString()!;
                        if (!name.StartsWith("AWS::", StringComparison.Ordinal) && !parameters.Contains(name) && !resources.Contains(name))
                            problems.Add($"{at}: Ref {name}");
                        break;
                    case "Fn::GetAtt":
                        var target = member.Value[0].GetString()!;
                        if (!resources.Contains(target)) problems.Add($"{at}: GetAtt {target}");
                        break;
                    case "Fn::If":
                        var condition = member.Value[0].GetString()!;
                        if (!conditions.Contains(condition)) problems.Add($"{at}: If {condition}");
                        break;
                    case "Fn::Sub" when member.Value.ValueKind == JsonValueKind.String:
                        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(member.Value.GetString()!, @"\$\{([^}!]+)\}"))
                        {
                            var variable = m.Groups[1].Value.Split('.')[0];
                            if (!variable.StartsWith("AWS::", StringComparison.Ordinal) && !parameters.Contains(variable) && !resources.Contains(variable))
                                problems.Add($"{at}: Sub ${{{m.Groups[1].Value}}}");
                        }
                        break;
                    case "Condition" when member.Value.ValueKind == JsonValueKind.String && at.Count(c => c == '.') == 1:
                        if (!conditions.Contains(member.Value.GetString()!)) problems.Add($"{at}: Condition {member.Value.GetString()}");
                        break;
                }
                Check(member.Value, at + "." + member.Name);
            }
        }

        Check(Resources, "Resources");
        Check(_template.GetProperty("Outputs"), "Outputs");
        Assert.Empty(problems);
    }

    /// <summary>The template's tables are the ones <c>tables create</c> makes (<see cref="DynamoTables"/>):
    /// same names, keys, key types, indexes and time to live; on demand, with point-in-time recovery.</summary>
    [Fact]
    public void The_tables_are_the_ones_tables_create_makes_on_demand_with_point_in_time_recovery()
    {
        var tables = ResourcesOfType("AWS::DynamoDB::Table").ToDictionary(
            t => t.Properties.GetProperty("TableName").GetProperty("Fn::Sub").GetString()!.Replace("${TablePrefix}", ""),
            t => t.Properties);

        Assert.Equal(DynamoTables.All.Select(t => t.Name).Order(), tables.Keys.Order());
        foreach (var spec in DynamoTables.All)
        {
            var table = tables[spec.Name];
            var made = DynamoTables.CreateRequest(spec, "");
            Assert.Equal(string.Join(", ", made.KeySchema.Select(k => k.AttributeName)), Key(table));
            Assert.Equal((made.GlobalSecondaryIndexes ?? []).Select(i => i.IndexName + ": " + string.Join(", ", i.KeySchema.Select(k => k.AttributeName))).Order(),
                Indexes(table));
            var types = table.GetProperty("AttributeDefinitions").EnumerateArray()
                .ToDictionary(a => a.GetProperty("AttributeName").GetString()!, a => a.GetProperty("AttributeType").GetString());
            Assert.Equal(made.AttributeDefinitions.ToDictionary(a => a.AttributeName, a => (string?)a.AttributeType.Value).OrderBy(a => a.Key), types.OrderBy(a => a.Key));
            if (table.TryGetProperty("GlobalSecondaryIndexes", out var indexes))
            {
                Assert.All(indexes.EnumerateArray(), i => Assert.Equal("KEYS_ONLY", i.GetProperty("Projection").GetProperty("ProjectionType").GetString()));
            }
            Assert.Equal(spec.TimeToLive, table.TryGetProperty("TimeToLiveSpecification", out var ttl) && ttl.GetProperty("Enabled").GetBoolean()
                ? ttl.GetProperty("AttributeName").GetString() : null);
            Assert.True(table.GetProperty("PointInTimeRecoverySpecification").GetProperty("PointInTimeRecoveryEnabled").GetBoolean(), spec.Name + ": PITR");
            Assert.Equal("PAY_PER_REQUEST", table.GetProperty("BillingMode").GetString());
        }
    }

    private static string Key(JsonElement table) =>
        string.Join(", ", table.GetProperty("KeySchema").EnumerateArray().Select(k => k.GetProperty("AttributeName").GetString()));

    private static List<string> Indexes(JsonElement table) =>
        table.TryGetProperty("GlobalSecondaryIndexes", out var indexes)
            ? indexes.EnumerateArray().Select(i => i.GetProperty("IndexName").GetString() + ": " + Key(i)).Order().ToList()
            : [];

    [Fact]
    public void The_load_balancer_keeps_WebSockets_open_and_checks_health_on_the_servers_port()
    {
        var attributes = Resource("LoadBalancer").GetProperty("Properties").GetProperty("LoadBalancerAttributes").EnumerateArray()
            .ToDictionary(a => a.GetProperty("Key").GetString()!, a => a.GetProperty("Value"));
        var idleParameter = attributes["idle_timeout.timeout_seconds"].GetProperty("Ref").GetString()!;
        var idleDefault = _template.GetProperty("Parameters").GetProperty(idleParameter).GetProperty("Default").GetInt32();
        // Well above the server's 30 s keep-alive ping, so quiet sockets are never cut.
        Assert.True(idleDefault >= 300, $"idle timeout {idleDefault}");

        var targets = Resource("TargetGroup").GetProperty("Properties");
        Assert.Equal("/health", targets.GetProperty("HealthCheckPath").GetString());
        Assert.Equal("ip", targets.GetProperty("TargetType").GetString());

        var container = Container();
        var port = container.GetProperty("PortMappings")[0].GetProperty("ContainerPort").GetInt32();
        Assert.Equal(port, targets.GetProperty("Port").GetInt32());
        Assert.Equal($"http://+:{port}", Environment(container, cognito: false)["ASPNETCORE_URLS"]);
        var service = Resource("Service").GetProperty("Properties");
        Assert.Equal("FARGATE", service.GetProperty("LaunchType").GetString());
        Assert.Equal(port, service.GetProperty("LoadBalancers")[0].GetProperty("ContainerPort").GetInt32());
        Assert.Equal("awslogs", container.GetProperty("LogConfiguration").GetProperty("LogDriver").GetString());
        Assert.Equal("LogGroup", container.GetProperty("LogConfiguration").GetProperty("Options").GetProperty("awslogs-group").GetProperty("Ref").GetString());
    }

    [Fact]
    public void The_Cognito_parameters_become_an_external_issuer_in_Parleys_settings()
    {
        var environment = Environment(Container(), cognito: true);
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(environment.Select(e => new KeyValuePair<string, string?>(e.Key.Replace("__", ":"), e.Value)))
            .Build();

        var options = configuration.GetSection(ParleyOptions.Section).Get<ParleyOptions>()!;

        var issuer = Assert.Single(options.Auth.ExternalIssuers);
        Assert.Equal("https://cognito-idp.${AWS::Region}.amazonaws.com/${CognitoUserPoolId}", issuer.Issuer);
        Assert.Equal(["{Ref CognitoAppClientId}"], issuer.ClientIds);
        Assert.True(issuer.RequireHttps);
        Assert.Equal("Redis", configuration["Parley:Cluster:Bus"]);
        Assert.Contains("${Redis.PrimaryEndPoint.Address}", configuration["Parley:Cluster:RedisConnection"]);
        // Without a user pool, no issuer at all (not one with an empty URL, which would stop the server).
        Assert.DoesNotContain(Environment(Container(), cognito: false).Keys, k => k.Contains("ExternalIssuers"));
    }

    [Fact]
    public void The_server_may_use_its_tables_and_bucket_and_nothing_else()
    {
        var statements = Resource("TaskRole").GetProperty("Properties").GetProperty("Policies")[0]
            .GetProperty("PolicyDocument").GetProperty("Statement").EnumerateArray().ToList();
        var resources = statements.SelectMany(s => s.GetProperty("Resource").ValueKind == JsonValueKind.Array
            ? s.GetProperty("Resource").EnumerateArray().ToList() : [s.GetProperty("Resource")]).Select(r => r.GetRawText()).ToList();
        Assert.DoesNotContain(resources, r => r == "\"*\"");
        foreach (var (table, _) in ResourcesOfType("AWS::DynamoDB::Table"))
        {
            Assert.Contains(resources, r => r.Contains($"\"{table}\"") || r.Contains("${" + table + ".Arn}/index/*"));
        }
        var bucket = ResourcesOfType("AWS::S3::Bucket").Single().Properties;
        Assert.True(bucket.GetProperty("PublicAccessBlockConfiguration").GetProperty("RestrictPublicBuckets").GetBoolean());
    }

    [Fact]
    public void Media_bytes_go_to_the_stacks_bucket_which_the_tasks_may_read_write_and_delete_in()
    {
        // A Fargate task has no disk that outlives it: the blob store must be the stack's bucket.
        var (bucketName, _) = ResourcesOfType("AWS::S3::Bucket").Single();
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(Environment(Container(), cognito: false).Select(e => new KeyValuePair<string, string?>(e.Key.Replace("__", ":"), e.Value)))
            .Build();
        var options = configuration.GetSection(ParleyOptions.Section).Get<ParleyOptions>()!;
        Assert.Equal("S3", options.Blobs.Provider);
        Assert.Equal("{Ref " + bucketName + "}", options.Blobs.S3.Bucket);
        Assert.Equal("{Ref AWS::Region}", options.Blobs.S3.Region);
        Assert.Null(options.Blobs.S3.AccessKey); // the task role's credentials, never keys in the environment

        var statements = Resource("TaskRole").GetProperty("Properties").GetProperty("Policies")[0]
            .GetProperty("PolicyDocument").GetProperty("Statement").EnumerateArray().ToList();
        string[] Actions(JsonElement s) => s.GetProperty("Action").ValueKind == JsonValueKind.Array
            ? s.GetProperty("Action").EnumerateArray().Select(a => a.GetString()!).ToArray() : [s.GetProperty("Action").GetString()!];
        var onObjects = statements.Where(s => s.GetProperty("Resource").GetRawText().Contains("${" + bucketName + ".Arn}/*")).SelectMany(Actions).ToList();
        Assert.Contains("s3:GetObject", onObjects);
        Assert.Contains("s3:PutObject", onObjects);
        Assert.Contains("s3:DeleteObject", onObjects);
        // ListBucket on the bucket itself: the store checks that the bucket is there before it would make one.
        var onBucket = statements.Where(s => s.GetProperty("Resource").GetRawText().Contains($"\"{bucketName}\"")).SelectMany(Actions).ToList();
        Assert.Contains("s3:ListBucket", onBucket);
    }

    [Fact]
    public void The_secrets_key_is_a_generated_secret_the_stack_keeps_and_only_the_task_start_reads()
    {
        // Without it the tables' signing key and TOTP secrets cannot be opened: it outlives the stack.
        var secrets = ResourcesOfType("AWS::SecretsManager::Secret").ToList();
        var (secretName, properties) = Assert.Single(secrets);
        Assert.Equal("Retain", Resource(secretName).GetProperty("DeletionPolicy").GetString());
        Assert.Equal("Retain", Resource(secretName).GetProperty("UpdateReplacePolicy").GetString());
        var generated = properties.GetProperty("GenerateSecretString");
        Assert.True(generated.GetProperty("PasswordLength").GetInt32() >= Parley.Server.Auth.SecretSeal.MinKeyLength);

        // Handed to the container as a secret, never written into its environment.
        var secret = Assert.Single(Container().GetProperty("Secrets").EnumerateArray());
        Assert.Equal("Parley__Auth__SecretsKey", secret.GetProperty("Name").GetString());
        Assert.Equal("{Ref " + secretName + "}", Text(secret.GetProperty("ValueFrom")));
        Assert.DoesNotContain(Environment(Container(), cognito: true).Keys, k => k.Contains("SecretsKey"));

        // The execution role (which starts the task) reads that one secret; the task role cannot.
        var statement = Assert.Single(Resource("ExecutionRole").GetProperty("Properties").GetProperty("Policies")[0]
            .GetProperty("PolicyDocument").GetProperty("Statement").EnumerateArray());
        Assert.Equal("secretsmanager:GetSecretValue", statement.GetProperty("Action").GetString());
        Assert.Equal("{Ref " + secretName + "}", Text(statement.GetProperty("Resource")));
        Assert.DoesNotContain("secretsmanager", Resource("TaskRole").GetRawText());
    }

    private JsonElement Container() =>
        Resource("TaskDefinition").GetProperty("Properties").GetProperty("ContainerDefinitions")[0];

    /// <summary>The container's environment with conditions resolved (Cognito on or off, the rest
    /// off); values that are template expressions are written as their text ("{Ref X}", the Sub string).</summary>
    private static Dictionary<string, string> Environment(JsonElement container, bool cognito)
    {
        var result = new Dictionary<string, string>();
        foreach (var entry in container.GetProperty("Environment").EnumerateArray())
        {
            var item = entry;
            if (entry.TryGetProperty("Fn::If", out var branch))
            {
                var on = branch[0].GetString() == "HasCognito" && cognito;
                item = on ? branch[1] : branch[2];
                if (item.TryGetProperty("Ref", out var noValue) && noValue.GetString() == "AWS::NoValue") continue;
            }
            result[item.GetProperty("Name").GetString()!] = Text(item.GetProperty("Value"));
        }
        return result;
    }

    private static string Text(JsonElement value) =>
        value.ValueKind == JsonValueKind.String ? value.GetString()!
        : value.TryGetProperty("Ref", out var r) ? "{Ref " + r.GetString() + "}"
        : value.TryGetProperty("Fn::Sub", out var s) ? s.GetString()!
        : value.GetRawText();
}
