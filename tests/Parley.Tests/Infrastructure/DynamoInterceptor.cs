using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Parley.Testing;

namespace Parley.Tests.Infrastructure;

/// <summary>
/// A loopback HTTP hop between a test server and the suite's DynamoDB: every request goes on
/// unchanged, and a test may act just before one of them does (as another node would have acted
/// in that moment), by the request's operation and body.
/// </summary>
public sealed class DynamoInterceptor : IAsyncDisposable
{
    private static readonly HttpClient Forward = new();
    private readonly WebApplication _app;

    /// <summary>Runs before each request is passed on: the operation (<c>UpdateItem</c>...) and the
    /// request's JSON. Null: nothing.</summary>
    public Func<string, JsonElement, Task>? Before { get; set; }

    public string Url { get; }

    private DynamoInterceptor(WebApplication app, string url) => (_app, Url) = (app, url);

    public static async Task<DynamoInterceptor> StartAsync()
    {
        var target = TestDynamo.Endpoint ?? throw new InvalidOperationException("PARLEY_TEST_DYNAMODB is not set.");
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        DynamoInterceptor? self = null;
        app.Run(async context =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            var body = buffer.ToArray();
            var operation = context.Request.Headers["X-Amz-Target"].ToString().Split('.').Last();
            if (self!.Before is { } before)
            {
                using var json = JsonDocument.Parse(body);
                await before(operation, json.RootElement);
            }
            using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), target.TrimEnd('/') + context.Request.Path + context.Request.QueryString)
            {
                Content = new ByteArrayContent(body),
            };
            foreach (var (name, values) in context.Request.Headers)
            {
                if (name is "Host" or "Content-Length" or "Transfer-Encoding") continue;
                if (!request.Headers.TryAddWithoutValidation(name, values.ToArray())) request.Content.Headers.TryAddWithoutValidation(name, values.ToArray());
            }
            using var response = await Forward.SendAsync(request);
            context.Response.StatusCode = (int)response.StatusCode;
            foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
            {
                if (name is "Transfer-Encoding" or "Content-Length") continue;
                context.Response.Headers[name] = values.ToArray();
            }
            await context.Response.Body.WriteAsync(await response.Content.ReadAsByteArrayAsync());
        });
        await app.StartAsync();
        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self = new DynamoInterceptor(app, url);
        return self;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
