using System.Net;
using System.Text.Json;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Operations;

/// <summary>The OpenAPI document and its browsable page are served without a token.</summary>
public sealed class DocumentationTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    [Fact]
    public async Task The_OpenAPI_document_is_JSON_listing_the_api_paths()
    {
        using var http = Server.CreateClient();

        using var response = await http.GetAsync("/openapi/v1.json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(document.RootElement.TryGetProperty("openapi", out _), "has an openapi version");
        var paths = document.RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        foreach (var path in new[] { "/auth/register", "/auth/login", "/auth/refresh", "/auth/logout", "/auth/sign-up", "/auth/sign-in",
                     "/auth/account-confirmation", "/auth/forgot-password", "/auth/reset-password", "/auth/external", "/users/me", "/health" })
        {
            Assert.Contains(path, paths);
        }
    }

    [Fact]
    public async Task The_browsable_API_page_is_served()
    {
        using var http = Server.CreateClient();

        using var response = await http.GetAsync("/swagger/index.html");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("swagger", html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task The_browsable_page_points_at_the_OpenAPI_document()
    {
        using var http = Server.CreateClient();

        // Swagger UI keeps its configuration (the document's URL) in a script next to the page.
        using var response = await http.GetAsync("/swagger/index.js");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("/openapi/v1.json", await response.Content.ReadAsStringAsync());
    }
}
