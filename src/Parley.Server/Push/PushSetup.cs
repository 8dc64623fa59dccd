using Microsoft.Extensions.Options;
using Parley.Server.Configuration;
using Parley.Server.Operations;

namespace Parley.Server.Push;

public static class PushSetup
{
    public static IServiceCollection AddParleyPush(this IServiceCollection services)
    {
        services.AddSingleton<VapidKeys>();
        services.AddSingleton<PushSender>();
        services.AddHostedService(sp => sp.GetRequiredService<PushSender>());
        services.AddSingleton<PushDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<PushDispatcher>());
        services.AddHttpClient(nameof(PushSender), http => http.Timeout = TimeSpan.FromSeconds(15))
            .ConfigurePrimaryHttpMessageHandler(sp => PushAddresses.Handler(sp.GetRequiredService<IOptions<ParleyOptions>>().Value.Push.AllowPrivateEndpoints));
        return services;
    }
}
