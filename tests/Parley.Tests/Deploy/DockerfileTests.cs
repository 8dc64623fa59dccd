namespace Parley.Tests.Deploy;

/// <summary>The Dockerfile, read (no container engine runs here, so the image is not built in
/// tests): a build stage and a runtime stage, the published server run by a non-root user, and
/// every path it copies present in the repository.</summary>
public sealed class DockerfileTests
{
    private readonly string[] _lines = File.ReadAllLines(DeployFiles.Dockerfile)
        .Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();

    [Fact]
    public void It_builds_with_the_SDK_and_runs_the_published_server_on_the_runtime_image_as_non_root()
    {
        var stages = _lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, stages.Count);
        Assert.StartsWith("FROM mcr.microsoft.com/dotnet/sdk:10.0", stages[0]);
        Assert.StartsWith("FROM mcr.microsoft.com/dotnet/aspnet:10.0", stages[1]);
        Assert.Contains(_lines, l => l.StartsWith("RUN dotnet publish src/Parley.Server/Parley.Server.csproj -c Release", StringComparison.Ordinal));

        var runtime = _lines.SkipWhile(l => l != stages[1]).ToList();
        var user = Assert.Single(runtime, l => l.StartsWith("USER ", StringComparison.Ordinal));
        Assert.DoesNotContain(user["USER ".Length..].Trim(), new[] { "root", "0", "0:0" });
        Assert.True(runtime.IndexOf(user) < runtime.FindIndex(l => l.StartsWith("ENTRYPOINT", StringComparison.Ordinal)), "USER comes before ENTRYPOINT");
        Assert.Equal("ENTRYPOINT [\"dotnet\", \"Parley.Server.dll\"]", runtime.Last(l => l.StartsWith("ENTRYPOINT", StringComparison.Ordinal)));
        Assert.Contains(runtime, l => l.Contains("ASPNETCORE_URLS=http://+:8080"));
    }

    [Fact]
    public void Every_path_it_copies_from_the_repository_exists()
    {
        var sources = _lines.Where(l => l.StartsWith("COPY ", StringComparison.Ordinal) && !l.Contains("--from="))
            .SelectMany(l => l["COPY ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).SkipLast(1))
            .ToList();
        Assert.NotEmpty(sources);
        foreach (var source in sources)
        {
            var path = Path.Combine(DeployFiles.RepoRoot, source);
            Assert.True(File.Exists(path) || Directory.Exists(path), $"COPY {source}: not in the repository");
        }
    }

    /// <summary>The collector's gen0 floor (README, "Operations") is one setting: the image, <c>dotnet
    /// run</c> and the benchmark script run the server with the same value.</summary>
    [Fact]
    public void The_image_dotnet_run_and_the_benchmarks_set_one_gen0_budget()
    {
        const string Budget = "0x2000000";
        Assert.Contains(_lines, l => l.TrimEnd('\\', ' ') == $"DOTNET_GCgen0size={Budget}");

        var launch = Path.Combine(DeployFiles.RepoRoot, "src", "Parley.Server", "Properties", "launchSettings.json");
        using var settings = System.Text.Json.JsonDocument.Parse(File.ReadAllText(launch));
        var profiles = settings.RootElement.GetProperty("profiles").EnumerateObject().ToList();
        Assert.NotEmpty(profiles);
        foreach (var profile in profiles)
        {
            Assert.Equal(Budget, profile.Value.GetProperty("environmentVariables").GetProperty("DOTNET_GCgen0size").GetString());
        }

        var bench = File.ReadAllText(Path.Combine(DeployFiles.RepoRoot, "tools", "Parley.Bench", "run-benchmarks.sh"));
        Assert.Contains($"DOTNET_GCgen0size={Budget}", bench);
    }
}
