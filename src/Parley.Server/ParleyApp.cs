using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Parley.Server.Auth;
using Parley.Server.Auth.External;
using Parley.Server.Blobs;
using Parley.Server.Chats;
using Parley.Server.Groups;
using Parley.Server.Media;
using Parley.Server.Messages;
using Parley.Server.Common;
using Parley.Server.Configuration;
using Parley.Server.Operations;
using Parley.Server.Push;
using Parley.Server.Realtime;
using Parley.Server.Storage;
using Parley.Server.Users;

namespace Parley.Server;

/// <summary>Builds the Parley host. Program.cs runs it; tests build it with their own settings
/// and run it on a loopback port.</summary>
public static class ParleyApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
            WebRootPath = Path.Combine(AppContext.BaseDirectory, "wwwroot"),
        });
        if (builder.Configuration["urls"] is null && Environment.GetEnvironmentVariable("ASPNETCORE_URLS") is null)
        {
            builder.WebHost.UseUrls("http://localhost:8080");
        }
        // Tests (and embedders) add configuration and services first, so everything below sees them.
        configure?.Invoke(builder);
        var options = builder.Configuration.GetSection(ParleyOptions.Section).Get<ParleyOptions>() ?? new ParleyOptions();
        if ((options.Users.Problem() ?? options.Network.Problem() ?? options.Memory.Problem()) is { } problem) throw new InvalidOperationException(problem);
        builder.Services.Configure<ParleyOptions>(builder.Configuration.GetSection(ParleyOptions.Section));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = options.Limits.MaxJsonBodyBytes;
            kestrel.AddServerHeader = false;
        });
        builder.Services.Configure<JsonOptions>(json => AppJson.Configure(json.SerializerOptions));
        builder.Services.Configure<RouteHandlerOptions>(routing => routing.ThrowOnBadRequest = true);
        // TryAdd: a test host may bring its own clock.
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddParleyBlobs(options);
        builder.Services.AddParleyStorage(options);
        builder.Services.AddParleyAuth();
        builder.Services.AddParleyRealtime(options);
        builder.Services.AddHostedService<DisappearingMessages>();
        builder.Services.AddHostedService<IdleMemoryTrim>();
        builder.Services.AddParleyTelemetry(options, builder.Configuration);
        builder.Services.AddParleyPush();
        builder.Services.AddSingleton<ExportThrottle>();
        builder.Services.AddSingleton<AccountDeletion>();
        builder.Services.AddParleyOpenApi();
        builder.Services.AddParleyCors(options);

        var app = builder.Build();
        // A mistake in the external issuers' settings stops the start, not the first request.
        app.Services.GetRequiredService<ExternalTokens>();
        // Behind a reverse proxy (nginx on this host, a load balancer), take the client's address from
        // X-Forwarded-For so per-IP limits apply per client; only the trusted proxies are believed.
        app.UseForwardedHeaders(options.Network.ForwardedHeaders());
        app.UseWebSocketEndpoint(options.Realtime.KeepAliveSeconds);
        // Outermost, so the logged status is the one the client got, after error handling.
        app.UseRequestLogging();
        app.UseApiErrors();
        // Before everything that answers (static files, auth, body checks), so preflights and errors carry CORS headers.
        app.UseCors();
        app.UseBadRequestAnswers();
        app.MapMetrics(options.Metrics);
        // A browsable page of the OpenAPI document at /swagger.
        app.UseSwaggerUI(ui =>
        {
            ui.SwaggerEndpoint("/openapi/v1.json", "Parley");
            ui.DocumentTitle = "Parley API";
        });
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseJsonBodyChecks();
        app.UseCanonicalChatIds();

        app.MapOperations();
        app.MapAuthApi();
        app.MapTwoStepApi();
        app.MapExternalAuthApi();
        app.MapUsersApi();
        app.MapChatsApi();
        app.MapChatSettingsApi();
        app.MapRoomsApi();
        app.MapMessagesApi();
        app.MapSearchApi();
        app.MapGroupsApi();
        app.MapMediaApi();
        app.MapRealtime();
        app.MapPushApi();
        app.MapExportApi();
        return app;
    }

    private static IServiceCollection AddParleyAuth(this IServiceCollection services)
    {
        services.AddSingleton<PasswordHasher>();
        services.AddSingleton<SecretSeal>();
        services.AddSingleton<TokenService>();
        services.AddSingleton<AuthThrottle>();
        services.AddSingleton<SessionRevocations>();
        services.AddSingleton<AccessTokenCheck>();
        services.AddHostedService<SessionRevocationSync>();
        services.AddSingleton<ICodeSender, LogCodeSender>();
        services.AddSingleton<AuthService>();
        services.AddSingleton<TwoStep>();
        services.AddHttpClient(nameof(ExternalTokens), http => http.Timeout = TimeSpan.FromSeconds(10));
        services.AddSingleton<ExternalTokens>();
        services.AddSingleton<ExternalAccounts>();
        services.AddAuthentication(BearerAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, BearerAuthenticationHandler>(BearerAuthenticationHandler.SchemeName, null);
        services.AddAuthorization();
        return services;
    }
}
