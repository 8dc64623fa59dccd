using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Operations;

/// <summary>The OpenAPI document describes every route's answers well enough to generate a client
/// from it: each route has its success answer with a schema and the shared <c>{error}</c> shape, and
/// real answers have exactly the declared members (so the declared types cannot drift from what the
/// server writes).</summary>
public sealed class OpenApiAnswersTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    // Routes that are not JSON APIs: the WebSocket upgrade, the document itself, the browsable page,
    // the Prometheus scrape and the web client's files.
    private static readonly string[] NotInTheDocument = ["/ws", "/openapi/", "/swagger", "/metrics", "{*"];

    private async Task<JsonElement> DocumentAsync()
    {
        using var http = Server.CreateClient();
        using var response = await http.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    [Fact]
    public async Task Every_route_declares_its_success_answer_and_the_error_shape()
    {
        var document = await DocumentAsync();
        var paths = document.GetProperty("paths");
        var checkedOperations = 0;
        foreach (var endpoint in Server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            var pattern = "/" + (endpoint.RoutePattern.RawText ?? "").TrimStart('/');
            if (NotInTheDocument.Any(pattern.Contains)) continue;
            foreach (var method in endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? [])
            {
                var where = $"{method} {pattern}";
                Assert.True(paths.TryGetProperty(pattern.TrimEnd('/') is "" ? "/" : pattern.TrimEnd('/'), out var path), $"{where} is in the document");
                Assert.True(path.TryGetProperty(method.ToLowerInvariant(), out var operation), $"{where} is in the document");
                var responses = operation.GetProperty("responses");

                var success = responses.EnumerateObject().Where(r => r.Name.StartsWith('2')).ToList();
                Assert.True(success.Count > 0, $"{where} declares a success status");
                foreach (var answer in success.Where(r => r.Name != "204"))
                {
                    Assert.True(answer.Value.TryGetProperty("content", out var content) && content.EnumerateObject().Any(), $"{where} {answer.Name} declares a body");
                    foreach (var mediaType in content.EnumerateObject())
                    {
                        Assert.True(mediaType.Value.TryGetProperty("schema", out _), $"{where} {answer.Name} {mediaType.Name} has a schema");
                    }
                }

                Assert.True(responses.TryGetProperty("default", out var error), $"{where} declares the error answer");
                AssertErrorShape(document, error, where);
                var signedIn = endpoint.Metadata.GetMetadata<IAuthorizeData>() is not null && endpoint.Metadata.GetMetadata<IAllowAnonymous>() is null;
                if (signedIn)
                {
                    Assert.True(responses.TryGetProperty("401", out var unauthorized), $"{where} declares 401");
                    AssertErrorShape(document, unauthorized, where);
                }
                checkedOperations++;
            }
        }
        Assert.True(checkedOperations > 50, $"only {checkedOperations} routes were found");
    }

    private static void AssertErrorShape(JsonElement document, JsonElement response, string where)
    {
        var schema = Resolve(document, response.GetProperty("content").GetProperty("application/json").GetProperty("schema"));
        Assert.True(schema.GetProperty("properties").TryGetProperty("error", out _), $"{where}: the error answer is {{error}}");
    }

    [Fact]
    public async Task Real_answers_have_exactly_the_declared_members()
    {
        var document = await DocumentAsync();
        var ann = await ApiClient.CreateUserAsync(Server, "Ann Answers");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob Answers");
        var cid = await ApiClient.CreateUserAsync(Server, "Cid Answers");
        var anonymous = Server.Api();
        void Check(string method, string template, ApiClient.Response response) => AssertMatches(document, method, template, response);

        Check("get", "/health", await anonymous.GetAsync("/health"));
        Check("get", "/health/live", await anonymous.GetAsync("/health/live"));
        Check("get", "/.well-known/jwks.json", await anonymous.GetAsync("/.well-known/jwks.json"));
        Check("post", "/auth/refresh", await anonymous.PostAsync("/auth/refresh", new { refreshToken = cid.RefreshToken }));
        Check("post", "/auth/forgot-password", await anonymous.PostAsync("/auth/forgot-password", new { email = ann.Email }));
        Check("post", "/auth/login", await anonymous.PostAsync("/auth/login", new { email = ann.Email, password = ann.Password }));
        Check("get", "/users/me", await ann.Api.GetAsync("/users/me"));
        Check("patch", "/users/me", await ann.Api.PatchAsync("/users/me", new { about = "Describing answers" }));
        Check("get", "/users", await ann.Api.GetAsync("/users?search=Answers"));
        Check("get", "/users/me/mfa", await ann.Api.GetAsync("/users/me/mfa"));

        var chat = await ann.Api.PostAsync("/chats", new { participantId = bob.Id });
        Check("post", "/chats", chat);
        var chatId = chat.Json.GetProperty("id").GetString()!;
        var first = await ann.Api.PostAsync($"/chats/{chatId}/messages", new { content = "first", clientMessageId = "c-1" });
        Check("post", "/chats/{chatId}/messages", first);
        var firstId = first.Json.GetProperty("id").GetString()!;
        Check("post", "/chats/{chatId}/messages", await bob.Api.PostAsync($"/chats/{chatId}/messages", new { content = "a reply", replyTo = firstId }));
        using var upload = new HttpRequestMessage(HttpMethod.Post, "/media") { Content = new ByteArrayContent([0x89, 0x50, 0x4E, 0x47, 1, 2, 3, 4]) };
        upload.Content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        var media = await ann.Api.SendAsync(upload);
        Check("post", "/media", media);
        Check("post", "/chats/{chatId}/messages", await ann.Api.PostAsync($"/chats/{chatId}/messages",
            new { type = "image", content = "a picture", media = new { mediaId = media.Json.GetProperty("mediaId").GetString(), fileName = "p.png" } }));
        Check("patch", "/messages/{messageId}", await ann.Api.PatchAsync($"/messages/{firstId}", new { content = "first, edited" }));
        Check("put", "/messages/{messageId}/status", await bob.Api.PutAsync($"/messages/{firstId}/status", new { status = "read" }));
        Check("get", "/messages/{messageId}/receipts", await ann.Api.GetAsync($"/messages/{firstId}/receipts"));
        Check("get", "/chats/{chatId}/messages", await ann.Api.GetAsync($"/chats/{chatId}/messages?limit=2"));
        Check("get", "/search", await bob.Api.GetAsync("/search?q=reply"));
        Check("post", "/ws/ticket", await ann.Api.PostAsync("/ws/ticket", null));
        Check("get", "/chats/{chatId}", await bob.Api.GetAsync($"/chats/{chatId}"));
        Check("get", "/chats/{chatId}/settings", await ann.Api.GetAsync($"/chats/{chatId}/settings"));
        Check("put", "/chats/{chatId}/settings", await ann.Api.PutAsync($"/chats/{chatId}/settings", new { muted = true, pinned = true }));

        var sync = await bob.Api.GetAsync("/sync");
        Check("get", "/sync", sync);
        var group = await ann.Api.PostAsync("/groups", new { name = "Answers", description = "Shapes", memberIds = new[] { bob.Id } });
        Check("post", "/groups", group);
        var groupId = group.Json.GetProperty("id").GetString()!;
        Check("post", "/groups/{groupId}/members", await ann.Api.PostAsync($"/groups/{groupId}/members", new { memberIds = new[] { cid.Id } }));
        Check("put", "/groups/{groupId}/info", await ann.Api.PutAsync($"/groups/{groupId}/info", new { name = "Answers 2" }));
        Check("delete", "/groups/{groupId}/members/{memberId}", await ann.Api.DeleteAsync($"/groups/{groupId}/members/{cid.Id}"));
        Check("get", "/sync", await bob.Api.GetAsync($"/sync?since={sync.Json.GetProperty("cursor").GetString()}"));
        Check("get", "/chats", await ann.Api.GetAsync("/chats"));

        var room = await cid.Api.PostAsync("/chat/rooms", new { participants = new[] { cid.Id, ann.Id } });
        Check("post", "/chat/rooms", room);
        var roomId = room.Json.GetProperty("roomId").GetString();
        Check("post", "/chat/messages", await cid.Api.PostAsync("/chat/messages", new { roomId, content = "in a room" }));
        Check("get", "/chat/messages", await cid.Api.GetAsync($"/chat/messages?roomId={roomId}"));
        Check("get", "/chat/rooms", await cid.Api.GetAsync("/chat/rooms"));

        Check("delete", "/messages/{messageId}", await ann.Api.DeleteAsync($"/messages/{firstId}?for=everyone"));
        // The reply's quote of a deleted message, and the deleted message itself, as history shows them.
        Check("get", "/chats/{chatId}/messages", await bob.Api.GetAsync($"/chats/{chatId}/messages"));
        Check("get", "/users/me/export", await ann.Api.GetAsync("/users/me/export"));
    }

    /// <summary>The answer's status is declared for the route, and its body has every required member of
    /// the declared schema and no member the schema does not declare, all the way down.</summary>
    private static void AssertMatches(JsonElement document, string method, string template, ApiClient.Response response)
    {
        var where = $"{method.ToUpperInvariant()} {template}";
        var status = ((int)response.Status).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var responses = document.GetProperty("paths").GetProperty(template).GetProperty(method).GetProperty("responses");
        Assert.True(responses.TryGetProperty(status, out var declared), $"{where} answered {status}, which it does not declare: {response.Json}");
        if (status == "204") return;
        var schema = declared.GetProperty("content").GetProperty("application/json").GetProperty("schema");
        AssertValue(document, response.Json, schema, where);
    }

    private static void AssertValue(JsonElement document, JsonElement value, JsonElement schema, string where)
    {
        schema = Resolve(document, schema);
        if (schema.TryGetProperty("oneOf", out var options) || schema.TryGetProperty("anyOf", out options))
        {
            if (value.ValueKind == JsonValueKind.Null && options.EnumerateArray().Any(o => AllowsNull(document, o))) return;
            var nonNull = options.EnumerateArray().Where(o => !IsNullOnly(o)).ToList();
            Assert.True(nonNull.Count == 1, $"{where}: one non-null choice expected in the schema");
            AssertValue(document, value, nonNull[0], where);
            return;
        }
        if (value.ValueKind == JsonValueKind.Null)
        {
            Assert.True(AllowsNull(document, schema), $"{where} is null, which the schema does not allow");
            return;
        }
        if (value.ValueKind == JsonValueKind.Object && schema.TryGetProperty("properties", out var properties))
        {
            foreach (var member in value.EnumerateObject())
            {
                Assert.True(properties.TryGetProperty(member.Name, out var memberSchema), $"{where} has the undeclared member '{member.Name}'");
                AssertValue(document, member.Value, memberSchema, $"{where}.{member.Name}");
            }
            if (schema.TryGetProperty("required", out var required))
            {
                foreach (var name in required.EnumerateArray().Select(n => n.GetString()!))
                {
                    Assert.True(value.TryGetProperty(name, out _), $"{where} lacks the required member '{name}'");
                }
            }
        }
        else if (value.ValueKind == JsonValueKind.Array && schema.TryGetProperty("items", out var items))
        {
            var i = 0;
            foreach (var item in value.EnumerateArray()) AssertValue(document, item, items, $"{where}[{i++}]");
        }
    }

    private static JsonElement Resolve(JsonElement document, JsonElement schema)
    {
        while (schema.TryGetProperty("$ref", out var reference))
        {
            var name = reference.GetString()!["#/components/schemas/".Length..];
            schema = document.GetProperty("components").GetProperty("schemas").GetProperty(name);
        }
        return schema;
    }

    private static bool IsNullOnly(JsonElement schema) =>
        schema.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "null";

    private static bool AllowsNull(JsonElement document, JsonElement schema)
    {
        schema = Resolve(document, schema);
        if (!schema.TryGetProperty("type", out var type)) return true;
        return type.ValueKind == JsonValueKind.String
            ? type.GetString() == "null"
            : type.EnumerateArray().Any(t => t.GetString() == "null");
    }
}
