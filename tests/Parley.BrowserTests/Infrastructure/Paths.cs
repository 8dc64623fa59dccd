namespace Parley.BrowserTests.Infrastructure;

public static class Paths
{
    /// <summary>The repository root: the first directory above the test binaries that holds Parley.slnx.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Screenshots { get; } = Path.Combine(RepoRoot, "test-output", "screenshots");

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Parley.slnx"))) return dir.FullName;
        }
        throw new InvalidOperationException("Parley.slnx not found above " + AppContext.BaseDirectory);
    }

    public static string Screenshot(string name)
    {
        Directory.CreateDirectory(Screenshots);
        return Path.Combine(Screenshots, name + ".png");
    }
}
