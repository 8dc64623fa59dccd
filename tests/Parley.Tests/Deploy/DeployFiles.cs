using System.Diagnostics;
using System.Text.Json;

namespace Parley.Tests.Deploy;

/// <summary>The deployment files of the repository, found from the test binaries.</summary>
public static class DeployFiles
{
    public static string RepoRoot { get; } = FindRepoRoot();
    public static string Template { get; } = Path.Combine(RepoRoot, "deploy", "aws", "parley.template.json");
    public static string Dockerfile { get; } = Path.Combine(RepoRoot, "Dockerfile");

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Parley.slnx"))) return dir.FullName;
        }
        throw new InvalidOperationException("Parley.slnx not found above " + AppContext.BaseDirectory);
    }

    public static JsonElement LoadTemplate() => JsonDocument.Parse(File.ReadAllText(Template)).RootElement.Clone();

    /// <summary>The cfn-lint on the PATH, or null.</summary>
    public static string? CfnLint { get; } = FindOnPath("cfn-lint");

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);

    public static async Task<(int ExitCode, string Output)> RunAsync(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepoRoot };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }
}

/// <summary>A fact that needs the CloudFormation linter <c>cfn-lint</c>: skipped with the reason
/// when it is not installed, except under CI=true, where its absence fails the run.</summary>
public sealed class CfnLintFactAttribute : FactAttribute
{
    public CfnLintFactAttribute()
    {
        if (DeployFiles.CfnLint is null && Environment.GetEnvironmentVariable("CI") != "true")
        {
            Skip = "cfn-lint is not installed (test.sh installs it where it can).";
        }
    }
}
