using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Parley.Tests.Cluster;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Operations;

/// <summary>A server that goes quiet after a busy spell gives back the memory the spell left the
/// collector holding (Parley:Memory), and keeps every socket and message through it. Each server
/// runs in a process of its own: a trim collects the whole process. Settings out of range: see
/// StartupFailureTests.</summary>
public sealed partial class IdleMemoryTrimTests
{
    /// <summary>A gen0 budget of 64 MiB, so a busy spell commits memory before any collection runs.</summary>
    private static Dictionary<string, string> Settings(int quietSeconds) => new()
    {
        ["Parley__Memory__TrimAfterQuietSeconds"] = quietSeconds.ToString(CultureInfo.InvariantCulture),
        ["Parley__Memory__TrimGrowthMiB"] = "16",
        ["Logging__LogLevel__Parley.Server.Operations"] = "Information",
        ["DOTNET_GCgen0size"] = "0x4000000",
    };

    [Fact]
    public async Task A_server_gone_quiet_after_a_busy_spell_gives_memory_back_and_keeps_its_sockets()
    {
        await using var node = await NodeProcess.StartAloneAsync("trim", Settings(quietSeconds: 1));
        var (ann, bob, chatId) = await ChatWithLongMessagesAsync(node.Server);
        await using var bobSocket = await bob.ConnectAsync(node.Server);

        var trims = 0.0;
        for (var spell = 0; spell < 10 && trims == 0; spell++)
        {
            await BusySpellAsync(ann, chatId);
            // Quiet: a scrape a second allocates far less than the 1 MiB a second a trim waits under.
            for (var second = 0; second < 5 && trims == 0; second++)
            {
                await Task.Delay(1000);
                trims = await TrimsAsync(node.Server);
            }
        }
        Assert.True(trims >= 1, "no trim after ten busy spells, each followed by five quiet seconds:\n" + node.Output);
        await node.WaitForOutputAsync("the collector gave memory back");
        var said = TrimLine().Match(node.Output);
        Assert.True(said.Success, node.Output);
        Assert.True(long.Parse(said.Groups["after"].Value, CultureInfo.InvariantCulture) < long.Parse(said.Groups["before"].Value, CultureInfo.InvariantCulture), said.Value);

        // The socket opened before the trim still delivers, and history is whole.
        await ann.SendTextAsync(chatId, "after the trim");
        await bobSocket.WaitForMessageAsync(chatId, "after the trim");
        Assert.Equal(MessagesInChat + 1, (await bob.MessagesOldestFirstAsync(chatId)).Count);
    }

    [Fact]
    public async Task With_the_trim_turned_off_a_quiet_server_runs_none()
    {
        await using var node = await NodeProcess.StartAloneAsync("no-trim", Settings(quietSeconds: 0));
        var (ann, _, chatId) = await ChatWithLongMessagesAsync(node.Server);
        await BusySpellAsync(ann, chatId);
        await Task.Delay(4000);
        Assert.Equal(0, await TrimsAsync(node.Server));
        Assert.DoesNotContain("the collector gave memory back", node.Output);
    }

    private const int MessagesInChat = 100;

    private static async Task<(TestUser Ann, TestUser Bob, string ChatId)> ChatWithLongMessagesAsync(ParleyServer server)
    {
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        for (var i = 0; i < MessagesInChat; i++) await ann.SendTextAsync(chatId, $"{i} " + new string('x', 4000));
        return (ann, bob, chatId);
    }

    /// <summary>Pages of 100 messages of 4,000 characters: about a MiB allocated each.</summary>
    private static async Task BusySpellAsync(TestUser reader, string chatId)
    {
        for (var i = 0; i < 40; i++) (await reader.Api.GetAsync($"/chats/{chatId}/messages?limit=100")).AssertStatus(HttpStatusCode.OK, "a page of history");
    }

    /// <summary>The node's count of trims, from <c>/metrics</c> (absent until the first).</summary>
    private static async Task<double> TrimsAsync(ParleyServer server) =>
        (await MetricsTests.ScrapeAsync(server)).GetValueOrDefault("parley_memory_trims_total");

    [GeneratedRegex(@"resident (?<before>\d+) MiB before and (?<after>\d+) MiB after")]
    private static partial Regex TrimLine();
}
