using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Operations;

/// <summary>Every route that takes a JSON body answers a malformed, mistyped or missing body with
/// a 400 naming what is wrong (415 for a body that is not JSON at all), writes at most one
/// warning line for it and never a stack trace. The routes are read from the running server, so
/// a route added later is covered too.</summary>
public sealed class MalformedBodyTests
{
    private sealed record JsonRoute(string Method, string Pattern, string Path, Type BodyType, bool Optional);

    private static List<JsonRoute> JsonRoutes(ParleyServer server)
    {
        var routes = new List<JsonRoute>();
        foreach (var endpoint in server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            var accepts = endpoint.Metadata.GetMetadata<IAcceptsMetadata>();
            if (accepts?.RequestType is null || !accepts.ContentTypes.Any(t => t.Contains("json", StringComparison.OrdinalIgnoreCase))) continue;
            var pattern = endpoint.RoutePattern.RawText ?? "";
            var path = Regex.Replace(pattern, "\\{[^}]+\\}", "1");
            if (!path.StartsWith('/')) path = "/" + path;
            foreach (var method in endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? [])
            {
                routes.Add(new JsonRoute(method, pattern, path, accepts.RequestType, accepts.IsOptional));
            }
        }
        return routes;
    }

    private static async Task<ApiClient.Response> SendRaw(ApiClient api, JsonRoute route, byte[] body, string? contentType = "application/json") =>
        await SendRaw(api, route.Method, route.Path, body, contentType);

    private static async Task<ApiClient.Response> SendRaw(ApiClient api, string method, string path, byte[] body, string? contentType = "application/json")
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        var content = new ByteArrayContent(body);
        if (contentType is not null) content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        request.Content = content;
        return await api.SendAsync(request);
    }

    /// <summary><c>{"\xff\xfe":"x"}</c>: JSON whose member name is two bytes that are not UTF-8.</summary>
    private static readonly byte[] NotUtf8MemberName = [.. "{\""u8, 0xff, 0xfe, .. "\":\"x\"}"u8];

    /// <summary>A value of the wrong JSON kind for a member of this type, or null when any value fits.</summary>
    private static string? WrongValueFor(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(JsonElement) || type == typeof(object)) return null;
        return type == typeof(string) ? "123" : "\"not-this-kind\"";
    }

    [Fact]
    public async Task Every_JSON_route_answers_bad_bodies_with_a_sentence_and_logs_no_stack_trace()
    {
        await using var server = await ParleyServer.StartAsync();
        var user = await ApiClient.CreateUserAsync(server);
        var routes = JsonRoutes(server);
        var json = server.Services.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        // The walk must cover the routes the contract names, or it proves nothing.
        Assert.Contains(routes, r => r.Method == "POST" && r.Pattern == "/chats/{chatId}/read");
        Assert.Contains(routes, r => r.Method == "POST" && r.Pattern == "/auth/login");
        Assert.Contains(routes, r => r.Method == "PATCH" && r.Pattern == "/users/me");
        Assert.Contains(routes, r => r.Method == "POST" && r.Pattern == "/chats/{chatId}/messages");
        var logsBefore = server.Logs.Count;
        var requests = 0;
        var failures = new List<string>();

        foreach (var route in routes)
        {
            var name = $"{route.Method} {route.Pattern}";
            Task Expect(string body, string? contentType, HttpStatusCode status, string? mentions) =>
                ExpectBytes(Encoding.UTF8.GetBytes(body), contentType, status, mentions);
            async Task ExpectBytes(byte[] body, string? contentType, HttpStatusCode status, string? mentions)
            {
                requests++;
                var response = await SendRaw(user.Api, route, body, contentType);
                if (response.Status != status || string.IsNullOrWhiteSpace(response.Error) ||
                    mentions is not null && !response.Error.Contains(mentions, StringComparison.Ordinal) ||
                    response.Error.Contains("Implicit body", StringComparison.Ordinal) || response.Error.Contains("parameter", StringComparison.Ordinal))
                {
                    failures.Add($"{name} with {contentType ?? "no content type"} '{Encoding.UTF8.GetString(body)}': {(int)response.Status} {response.Json}");
                }
            }

            await Expect("{\"truncated\": ", "application/json", HttpStatusCode.BadRequest, "JSON");
            await Expect("{\"a\": 1,,}", "application/json", HttpStatusCode.BadRequest, "JSON");
            await Expect("[1, 2, 3]", "application/json", HttpStatusCode.BadRequest, "object");
            await Expect("\"a string\"", "application/json", HttpStatusCode.BadRequest, "object");
            await Expect("hello", "text/plain", HttpStatusCode.UnsupportedMediaType, "JSON");
            // A member named twice has no one meaning (a proxy may read the first copy, the binder the last).
            await Expect("{\"a\": 1, \"a\": 2}", "application/json", HttpStatusCode.BadRequest, "more than once");
            // Member names that parse but are not Unicode: bytes that are not UTF-8, and lone surrogates.
            await ExpectBytes(NotUtf8MemberName, "application/json", HttpStatusCode.BadRequest, "Unicode");
            await Expect("{\"\\ud800\":\"x\"}", "application/json", HttpStatusCode.BadRequest, "Unicode");
            await Expect("{\"\\udfff\":\"x\"}", "application/json", HttpStatusCode.BadRequest, "Unicode");
            if (!route.Optional)
            {
                await Expect("", "application/json", HttpStatusCode.BadRequest, "empty");
                await Expect("null", "application/json", HttpStatusCode.BadRequest, "empty");
                await Expect("", null, HttpStatusCode.BadRequest, "empty");
            }
            foreach (var member in json.GetTypeInfo(route.BodyType).Properties)
            {
                if (WrongValueFor(member.PropertyType) is not { } wrong) continue;
                await Expect($"{{\"{member.Name}\": {wrong}}}", "application/json", HttpStatusCode.BadRequest, member.Name);
                if (member.PropertyType == typeof(string)) await Expect($"{{\"{member.Name}\": \"a\\ud800b\"}}", "application/json", HttpStatusCode.BadRequest, "Unicode");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        server.AssertNoErrorLoggedSince(logsBefore);
        var lines = server.Logs.Skip(logsBefore).ToList();
        Assert.DoesNotContain(lines, l => l.Contains("Implicit body", StringComparison.Ordinal));
        Assert.InRange(lines.Count(l => l.StartsWith("Warning ", StringComparison.Ordinal)), 1, requests);
    }

    [Theory]
    [InlineData("{\"messageId\": 123}", "messageId must be a string.")]
    [InlineData("{\"messageId\": {\"nested\": true}}", "messageId must be a string.")]
    [InlineData("{\"messageId\": \"msg_1\"", "not valid JSON")]
    public async Task Marking_read_with_a_mistyped_or_truncated_body_is_a_400_naming_the_problem(string body, string sentence)
    {
        await using var server = await ParleyServer.StartAsync();
        var alice = await ApiClient.CreateUserAsync(server);
        var bob = await ApiClient.CreateUserAsync(server);
        var chatId = await alice.OpenChatWithAsync(bob);

        var response = await alice.Api.PostAsync($"/chats/{chatId}/read", body);

        Assert.Contains(sentence, response.AssertError(HttpStatusCode.BadRequest));
        Assert.DoesNotContain(server.Logs, l => l.Contains("Exception", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_send_that_names_its_content_twice_is_refused_and_stores_nothing()
    {
        await using var server = await ParleyServer.StartAsync();
        var alice = await ApiClient.CreateUserAsync(server);
        var bob = await ApiClient.CreateUserAsync(server);
        var chatId = await alice.OpenChatWithAsync(bob);

        var response = await alice.Api.PostAsync($"/chats/{chatId}/messages", "{\"content\": \"meet at 5\", \"content\": \"meet at 6\"}");

        Assert.Contains("more than once", response.AssertError(HttpStatusCode.BadRequest));
        var history = await bob.Api.GetAsync($"/chats/{chatId}/messages");
        Assert.Equal(0, history.Json.GetProperty("messages").GetArrayLength());
    }

    [Fact]
    public async Task Marking_read_still_takes_no_body_an_empty_object_or_a_message_id()
    {
        await using var server = await ParleyServer.StartAsync();
        var alice = await ApiClient.CreateUserAsync(server);
        var bob = await ApiClient.CreateUserAsync(server);
        var chatId = await alice.OpenChatWithAsync(bob);
        var message = await bob.SendTextAsync(chatId, "hello");

        using var empty = new HttpRequestMessage(HttpMethod.Post, $"/chats/{chatId}/read");
        (await alice.Api.SendAsync(empty)).AssertStatus(HttpStatusCode.NoContent, "read without a body");
        (await alice.Api.PostAsync($"/chats/{chatId}/read", "{}")).AssertStatus(HttpStatusCode.NoContent, "read with {}");
        (await alice.Api.PostAsync($"/chats/{chatId}/read", new { messageId = message.Str("id") })).AssertStatus(HttpStatusCode.NoContent, "read with a messageId");
    }

    [Fact]
    public async Task A_mistyped_nested_member_is_named_with_its_path()
    {
        await using var server = await ParleyServer.StartAsync();
        var alice = await ApiClient.CreateUserAsync(server);
        var bob = await ApiClient.CreateUserAsync(server);
        var chatId = await alice.OpenChatWithAsync(bob);

        var response = await alice.Api.PostAsync($"/chats/{chatId}/messages", "{\"type\":\"image\",\"media\":{\"mediaId\":5}}");
        var members = await alice.Api.PostAsync("/groups", "{\"name\":\"G\",\"memberIds\":[\"a\", 7]}");

        Assert.Equal("media.mediaId must be a string.", response.AssertError(HttpStatusCode.BadRequest));
        Assert.Equal("memberIds[1] must be a string.", members.AssertError(HttpStatusCode.BadRequest));
    }

    [Fact]
    public async Task Signing_in_with_a_member_name_that_is_not_UTF_8_is_a_400_without_an_error_log()
    {
        await using var server = await ParleyServer.StartAsync();
        var logsBefore = server.Logs.Count;

        var response = await SendRaw(server.Api(), "POST", "/auth/login", NotUtf8MemberName);

        Assert.Contains("not valid Unicode", response.AssertError(HttpStatusCode.BadRequest));
        server.AssertNoErrorLoggedSince(logsBefore);
    }

    [Theory]
    [InlineData("{\"content\":\"a\\ud800b\"}")]
    [InlineData("{\"content\":\"ok\",\"\\udfff\":\"x\"}")]
    public async Task A_message_with_a_lone_surrogate_is_a_400_and_is_not_stored(string body)
    {
        await using var server = await ParleyServer.StartAsync();
        var alice = await ApiClient.CreateUserAsync(server);
        var bob = await ApiClient.CreateUserAsync(server);
        var chatId = await alice.OpenChatWithAsync(bob);
        var logsBefore = server.Logs.Count;

        var response = await alice.Api.PostAsync($"/chats/{chatId}/messages", body);

        Assert.Contains("not valid Unicode", response.AssertError(HttpStatusCode.BadRequest));
        Assert.Empty(await bob.HistoryAsync(chatId));
        server.AssertNoErrorLoggedSince(logsBefore);
    }

    [Fact]
    public async Task Chat_settings_with_a_lone_surrogate_member_name_are_a_400_and_change_nothing()
    {
        await using var server = await ParleyServer.StartAsync();
        var alice = await ApiClient.CreateUserAsync(server);
        var bob = await ApiClient.CreateUserAsync(server);
        var chatId = await alice.OpenChatWithAsync(bob);
        var logsBefore = server.Logs.Count;

        var response = await alice.Api.PutAsync($"/chats/{chatId}/settings", "{\"muted\":true,\"\\ud800\":1}");

        Assert.Contains("not valid Unicode", response.AssertError(HttpStatusCode.BadRequest));
        var settings = await alice.Api.GetAsync($"/chats/{chatId}/settings");
        settings.AssertStatus(HttpStatusCode.OK, "GET settings");
        Assert.False(settings.Json.Bool("muted"));
        server.AssertNoErrorLoggedSince(logsBefore);
    }

    /// <summary>The byte order mark some Windows tools write before UTF-8 text.</summary>
    private static readonly byte[] Utf8ByteOrderMark = [0xEF, 0xBB, 0xBF];

    [Fact]
    public async Task A_body_that_starts_with_a_byte_order_mark_is_read_as_the_JSON_after_it()
    {
        await using var server = await ParleyServer.StartAsync();
        var alice = await ApiClient.CreateUserAsync(server);
        var bob = await ApiClient.CreateUserAsync(server);
        var chatId = await alice.OpenChatWithAsync(bob);
        var logsBefore = server.Logs.Count;

        var login = await SendRaw(server.Api(), "POST", "/auth/login",
            [.. Utf8ByteOrderMark, .. JsonSerializer.SerializeToUtf8Bytes(new { email = alice.Email, password = alice.Password })]);
        login.AssertStatus(HttpStatusCode.OK, "POST /auth/login with a byte order mark");
        Assert.Equal(alice.Id, login.Json.GetProperty("user").Str("id"));

        var sent = await SendRaw(alice.Api, "POST", $"/chats/{chatId}/messages", [.. Utf8ByteOrderMark, .. "{\"content\":\"héllo 😀\"}"u8]);
        sent.AssertStatus(HttpStatusCode.Created, "POST a message with a byte order mark");
        Assert.Equal("héllo 😀", Assert.Single(await bob.HistoryAsync(chatId)).Str("content"));

        // The mark alone is an empty body, and a second mark is not JSON.
        var markOnly = await SendRaw(alice.Api, "POST", $"/chats/{chatId}/messages", Utf8ByteOrderMark);
        Assert.Contains("empty", markOnly.AssertError(HttpStatusCode.BadRequest));
        var twoMarks = await SendRaw(alice.Api, "POST", $"/chats/{chatId}/messages", [.. Utf8ByteOrderMark, .. Utf8ByteOrderMark, .. "{\"content\":\"x\"}"u8]);
        Assert.Contains("not valid JSON", twoMarks.AssertError(HttpStatusCode.BadRequest));
        Assert.Single(await bob.HistoryAsync(chatId));
        server.AssertNoErrorLoggedSince(logsBefore);
    }
}
