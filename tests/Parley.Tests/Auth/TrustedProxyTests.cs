using System.Net;
using System.Text;
using System.Text.Json;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Auth;

/// <summary><c>Parley:Network:TrustedProxies</c>: whose <c>X-Forwarded-For</c> names the client in the
/// per-IP limits. The tests' requests come from loopback, so "a proxy on loopback" is the test client
/// claiming a different client address on every request.</summary>
public sealed class TrustedProxyTests
{
    private const int Limit = 3;

    private static Task<ParleyServer> StartAsync(params string[] trusted)
    {
        var settings = new Dictionary<string, string?> { ["Parley:Auth:AttemptsPerIpPerMinute"] = Limit.ToString() };
        for (var i = 0; i < trusted.Length; i++) settings[$"Parley:Network:TrustedProxies:{i}"] = trusted[i];
        return ParleyServer.StartAsync(settings);
    }

    /// <summary>Login attempts for unknown accounts, each "forwarded for" its own client address;
    /// how many of them the per-IP limit refused.</summary>
    private static async Task<int> RefusedAsync(ParleyServer server, int attempts, Func<int, string> clientOf)
    {
        using var api = server.Api();
        var refused = 0;
        for (var i = 0; i < attempts; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/auth/login")
            {
                Content = new StringContent(JsonSerializer.Serialize(new { email = Accounts.NewEmail(), password = "wrong-" + i }), Encoding.UTF8, "application/json"),
            };
            // What a client wrote first, then what the proxy added: only the proxy's entry counts.
            request.Headers.Add("X-Forwarded-For", "203.0.113.250, " + clientOf(i));
            var response = await api.SendAsync(request);
            if (response.Status == HttpStatusCode.TooManyRequests) refused++;
            else response.AssertStatus(HttpStatusCode.Unauthorized, "login with a wrong password");
        }
        return refused;
    }

    private static string Client(int i) => $"198.51.100.{i + 1}";

    [Fact]
    public async Task By_default_a_proxy_on_this_host_names_each_client()
    {
        await using var server = await StartAsync();

        Assert.Equal(0, await RefusedAsync(server, 3 * Limit, Client));
        // One client, through the same proxy, is still limited.
        Assert.True(await RefusedAsync(server, 2 * Limit + 1, _ => "198.51.100.200") > 0);
    }

    [Fact]
    public async Task A_listed_network_names_each_client()
    {
        await using var server = await StartAsync("10.0.0.0/8", "127.0.0.0/8");

        Assert.Equal(0, await RefusedAsync(server, 3 * Limit, Client));
    }

    [Fact]
    public async Task A_proxy_not_listed_is_not_believed_and_its_clients_count_together()
    {
        // Only a load balancer elsewhere is listed: this host's loopback no longer is.
        await using var server = await StartAsync("192.0.2.10");

        Assert.True(await RefusedAsync(server, 3 * Limit, Client) >= Limit);
    }

    [Fact]
    public async Task An_entry_that_is_not_an_address_stops_the_server_at_start()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync("10.0.0.0/8", "the-load-balancer"));

        Assert.Contains("Parley:Network:TrustedProxies", error.Message);
        Assert.Contains("the-load-balancer", error.Message);
    }
}
