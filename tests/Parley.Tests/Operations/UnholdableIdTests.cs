using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Operations;

/// <summary>Every route that names something by id in its path answers an id no store could hold
/// (3,000 characters, past what DynamoDB allows in a key) as it answers any unknown id: a 4xx with
/// a sentence, never a 500, and no stack trace in the log. The routes are read from the running
/// server, so a route added later is covered too.</summary>
public sealed class UnholdableIdTests
{
    [Fact]
    public async Task An_id_too_long_for_any_store_is_an_unknown_id_on_every_route()
    {
        await using var server = await ParleyServer.StartAsync();
        var user = await ApiClient.CreateUserAsync(server);
        var huge = new string('x', 3000);
        var routes = server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            // The OpenAPI document's name is the framework's, not an id of Parley's.
            .Where(e => e.RoutePattern.Parameters.Count > 0 && !(e.RoutePattern.RawText ?? "").StartsWith("/openapi/", StringComparison.Ordinal))
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? [])
                .Select(method => (Method: method, Pattern: e.RoutePattern.RawText!)))
            .ToList();
        // The walk must cover the routes the contract names, or it proves nothing.
        Assert.Contains(routes, r => r.Method == "GET" && r.Pattern == "/chats/{chatId}/messages");
        Assert.Contains(routes, r => r.Method == "POST" && r.Pattern == "/users/{userId}/block");
        using var http = server.CreateClient();
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", user.AccessToken);
        var logsBefore = server.Logs.Count;
        var failures = new List<string>();

        foreach (var (method, pattern) in routes)
        {
            var path = Regex.Replace(pattern, "\\{[^}]+\\}", huge);
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (method is "POST" or "PUT" or "PATCH") request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            if ((int)response.StatusCode is < 400 or >= 500 || response.StatusCode == HttpStatusCode.MethodNotAllowed || !body.Contains("\"error\"", StringComparison.Ordinal))
            {
                failures.Add($"{method} {pattern}: {(int)response.StatusCode} {body[..Math.Min(body.Length, 200)]}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        var lines = server.Logs.Skip(logsBefore).ToList();
        Assert.DoesNotContain(lines, l => l.Contains("Exception", StringComparison.Ordinal) || l.Contains("   at ", StringComparison.Ordinal));
    }
}
