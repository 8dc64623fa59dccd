using System.Net;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Operations;

public sealed class HealthTests
{
    [Fact]
    public async Task Health_answers_ok_when_the_store_answers()
    {
        await using var server = await ParleyServer.StartAsync();
        var response = await server.Api().GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal("ok", response.Json.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Health_has_live_and_ready_beside_it()
    {
        await using var server = await ParleyServer.StartAsync();
        using var http = server.CreateClient();
        foreach (var path in new[] { "/health", "/health/live", "/health/ready" })
        {
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(path)).StatusCode);
        }
    }
}
