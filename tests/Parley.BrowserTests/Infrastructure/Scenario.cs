using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Playwright;

namespace Parley.BrowserTests.Infrastructure;

/// <summary>A server and the people using it in one test. <see cref="RunAsync"/> runs the test body
/// and, when it fails, saves a screenshot of every open page and their console errors under
/// test-output/failures/, and adds those errors and the server's warnings to the failure.</summary>
public sealed class Scenario : IAsyncDisposable
{
    private readonly BrowserFixture _browser;
    private readonly List<ChatUser> _users = [];

    public TestServer Server { get; }

    private Scenario(BrowserFixture browser, TestServer server)
    {
        _browser = browser;
        Server = server;
    }

    public static Task RunAsync(BrowserFixture browser, Func<Scenario, Task> body, [CallerMemberName] string test = "") =>
        RunAsync(browser, null, body, test);

    /// <summary>The same, on a server with settings of its own (another store, for example).</summary>
    public static async Task RunAsync(BrowserFixture browser, IReadOnlyDictionary<string, string?>? settings, Func<Scenario, Task> body,
        [CallerMemberName] string test = "")
    {
        await using var scenario = new Scenario(browser, await TestServer.StartAsync(settings));
        try
        {
            await body(scenario);
        }
        catch (Exception ex)
        {
            var report = await scenario.CaptureAsync(test);
            throw new Exception($"{ex.Message}\n{report}", ex);
        }
    }

    public async Task<ChatUser> RegisterAsync(string name, ViewportSize? viewport = null)
    {
        var user = await ChatUser.OpenAsync(_browser, Server, name, viewport);
        _users.Add(user);
        await user.RegisterAsync();
        return user;
    }

    public async Task<ChatUser> OpenAsync(string name, ViewportSize? viewport = null, string? email = null)
    {
        var user = await ChatUser.OpenAsync(_browser, Server, name, viewport, email);
        _users.Add(user);
        return user;
    }

    private async Task<string> CaptureAsync(string test)
    {
        var report = new StringBuilder();
        var directory = Path.Combine(Paths.RepoRoot, "test-output", "failures");
        Directory.CreateDirectory(directory);
        foreach (var user in _users.Where(u => !u.Closed))
        {
            var file = Path.Combine(directory, $"{test}-{user.Name.Split(' ')[0]}.png");
            try
            {
                await user.Page.ScreenshotAsync(new() { Path = file, Timeout = 5_000 });
                report.AppendLine($"screenshot: {file}");
            }
            catch (PlaywrightException)
            {
                // The page is gone; nothing to show.
            }
            foreach (var error in user.ConsoleErrors) report.AppendLine($"{user.Name} console: {error}");
        }
        foreach (var line in Server.Logs.Where(l => l.StartsWith("Warning") || l.StartsWith("Error") || l.StartsWith("Critical")).TakeLast(20))
        {
            report.AppendLine($"server: {line}");
        }
        return report.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var user in _users) await user.DisposeAsync();
        await Server.DisposeAsync();
        var dump = Environment.GetEnvironmentVariable("PARLEY_BROWSER_TEST_SERVER_LOG");
        if (!string.IsNullOrEmpty(dump)) await File.AppendAllLinesAsync(dump, Server.Logs.Where(l => !l.StartsWith("Information")));
    }
}
