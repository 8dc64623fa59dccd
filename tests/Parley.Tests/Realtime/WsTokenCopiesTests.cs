using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Realtime;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Realtime;

/// <summary>
/// An open socket keeps its upgraded request, and the server's connection object behind it, for as
/// long as it stays open. A token sent in <c>/ws?token=</c> must not stay there with it: neither in
/// the request's own fields nor in the copy of the target that Kestrel caches on the connection.
/// </summary>
public sealed class WsTokenCopiesTests
{
    [Fact]
    public async Task An_open_socket_keeps_no_copy_of_a_token_sent_in_its_url()
    {
        var watcher = new WsRequestWatcher();
        await using var server = await ParleyServer.StartAsync(services: s => s.AddSingleton<IStartupFilter>(watcher));
        var email = Accounts.NewEmail();
        await Accounts.RegisterAsync(server, email);
        var session = await Accounts.LoginAsync(server, email);

        // Connecting waits for an answer on the socket, so the endpoint is past its token check.
        await using var socket = await WsClient.ConnectAsync(server, session.AccessToken);
        Assert.True(watcher.Request.Task.IsCompleted, "the /ws request went past the watcher");
        var connection = await watcher.Request.Task;

        Assert.Empty(StringFieldsHolding(connection, session.AccessToken));
        // The socket is live after the check: it still answers.
        await socket.SendAsync(new { action = "ping" });
        await socket.WaitForTypeAsync("pong");
    }

    [Fact]
    public void The_cached_target_fields_are_found_on_this_version_of_Kestrel()
    {
        // Kestrel's request feature is its HTTP/1.1 connection object. Should an update rename the
        // fields, the saving above would go quietly; this names them.
        var connectionType = Type.GetType("Microsoft.AspNetCore.Server.Kestrel.Core.Internal.Http.Http1Connection, Microsoft.AspNetCore.Server.Kestrel.Core", throwOnError: true)!;
        Assert.Equal(["_parsedRawTarget", "_parsedQueryString"], KestrelRequestLine.FieldsOf(connectionType).Select(f => f.Name));
    }

    /// <summary>The names of the instance string fields of <paramref name="target"/> (its own and
    /// its base types') whose value contains <paramref name="secret"/>.</summary>
    private static List<string> StringFieldsHolding(object target, string secret)
    {
        var holding = new List<string>();
        for (var type = target.GetType(); type is not null; type = type.BaseType)
        {
            foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                if (field.FieldType == typeof(string) && field.GetValue(target) is string value && value.Contains(secret, StringComparison.Ordinal))
                {
                    holding.Add($"{type.Name}.{field.Name}");
                }
            }
        }
        return holding;
    }

    /// <summary>Sits in front of the server's pipeline and hands over the request feature (Kestrel's
    /// connection object) of the first <c>/ws</c> request.</summary>
    private sealed class WsRequestWatcher : IStartupFilter
    {
        public TaskCompletionSource<object> Request { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (HttpContext http, RequestDelegate rest) =>
            {
                var feature = http.Features.Get<IHttpRequestFeature>();
                var isSocket = http.Request.Path.Equals("/ws", StringComparison.OrdinalIgnoreCase);
                // Read by the test once its socket is open: by then the endpoint has checked the token.
                if (isSocket && feature is not null) Request.TrySetResult(feature);
                await rest(http);
            });
            next(app);
        };
    }
}
