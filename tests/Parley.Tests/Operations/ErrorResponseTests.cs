using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Operations;

/// <summary>Whatever goes wrong, the answer is the contract's status with an <c>{"error"}</c> body:
/// malformed JSON, wrong content type, oversized bodies, unknown routes, missing tokens.</summary>
public sealed class ErrorResponseTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    private async Task<ApiClient.Response> Send(HttpMethod method, string path, HttpContent? content, string? token = null)
    {
        using var api = Server.Api(token);
        using var request = new HttpRequestMessage(method, path) { Content = content };
        return await api.SendAsync(request);
    }

    [Theory]
    [InlineData("/auth/register", "{\"email\": \"a@example.com\", \"password\": ")]
    [InlineData("/auth/register", "{not json at all}")]
    [InlineData("/auth/login", "[1, 2, 3]")]
    [InlineData("/auth/login", "\"just a string\"")]
    [InlineData("/auth/login", "{\"email\": 42, \"password\": \"a-long-test-passphrase\"}")]
    [InlineData("/auth/refresh", "{\"refreshToken\": {\"nested\": true}}")]
    [InlineData("/auth/login", "")]
    [InlineData("/auth/login", "null")]
    [InlineData("/auth/register", "{\"email\": \"a@example.com\", \"password\": \"a-long-test-passphrase\", \"name\": \"N\"} trailing")]
    public async Task Malformed_JSON_is_a_400_with_an_error(string path, string body)
    {
        var response = await Send(HttpMethod.Post, path, new StringContent(body, Encoding.UTF8, "application/json"));

        response.AssertError(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Malformed_JSON_on_an_authenticated_endpoint_is_a_400_with_an_error()
    {
        var user = await ApiClient.CreateUserAsync(Server);

        var response = await user.Api.PatchAsync("/users/me", "{\"name\": ");

        response.AssertError(HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/xml")]
    public async Task A_body_that_is_not_JSON_by_content_type_is_a_415_with_an_error(string contentType)
    {
        var content = new StringContent("{\"email\":\"a@example.com\",\"password\":\"a-long-test-passphrase\"}", Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);

        var response = await Send(HttpMethod.Post, "/auth/login", content);

        response.AssertError(HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task A_body_without_a_content_type_is_a_415_with_an_error()
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes("{\"email\":\"a@example.com\",\"password\":\"a-long-test-passphrase\"}"));

        var response = await Send(HttpMethod.Post, "/auth/login", content);

        response.AssertError(HttpStatusCode.UnsupportedMediaType);
    }

    private static string OversizedRegistration() =>
        "{\"email\":\"big@example.com\",\"password\":\"a-long-test-passphrase\",\"name\":\"" + new string('n', 70 * 1024) + "\"}";

    [Fact]
    public async Task A_body_over_64_KiB_is_a_413_with_an_error()
    {
        var response = await Send(HttpMethod.Post, "/auth/register", new StringContent(OversizedRegistration(), Encoding.UTF8, "application/json"));

        response.AssertError(HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task A_chunked_body_over_64_KiB_is_a_413_with_an_error()
    {
        // No Content-Length: the server only learns the size while reading.
        var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(OversizedRegistration())));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var api = Server.Api();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/auth/register") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        var response = await api.SendAsync(request);

        response.AssertError(HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task A_body_just_under_64_KiB_is_read()
    {
        // Same shape, below the limit: it reaches validation (the name is too long) instead of 413.
        var body = "{\"email\":\"big@example.com\",\"password\":\"a-long-test-passphrase\",\"name\":\"" + new string('n', 60 * 1024) + "\"}";

        var response = await Send(HttpMethod.Post, "/auth/register", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Contains("name", response.AssertError(HttpStatusCode.BadRequest));
    }

    [Theory]
    [InlineData("/no/such/route")]
    [InlineData("/auth/no-such-thing")]
    [InlineData("/users/me/no-such-thing")]
    public async Task An_unknown_route_is_a_404_with_an_error(string path)
    {
        var user = await ApiClient.CreateUserAsync(Server);

        (await Send(HttpMethod.Get, path, null)).AssertError(HttpStatusCode.NotFound);
        (await Send(HttpMethod.Get, path, null, user.AccessToken)).AssertError(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_wrong_method_is_a_405_with_an_error()
    {
        var response = await Send(HttpMethod.Get, "/auth/login", null);

        response.AssertError(HttpStatusCode.MethodNotAllowed);
    }

    [Theory]
    [InlineData("GET", "/users/me")]
    [InlineData("PATCH", "/users/me")]
    [InlineData("GET", "/users")]
    public async Task No_token_is_a_401_with_an_error_and_a_Bearer_challenge(string method, string path)
    {
        var content = method == "PATCH" ? new StringContent("{\"name\":\"x\"}", Encoding.UTF8, "application/json") : null;

        var response = await Send(new HttpMethod(method), path, content);

        response.AssertError(HttpStatusCode.Unauthorized);
        Assert.Contains(response.Raw.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
    }

    [Fact]
    public async Task The_auth_endpoints_need_no_token()
    {
        using var api = Server.Api();

        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/health")).Status);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/.well-known/jwks.json")).Status);
        Assert.Equal(HttpStatusCode.Accepted, (await api.PostAsync("/auth/forgot-password", new { email = Accounts.NewEmail() })).Status);
    }
}
