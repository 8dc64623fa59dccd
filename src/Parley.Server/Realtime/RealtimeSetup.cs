namespace Parley.Server.Realtime;

public static class RealtimeSetup
{
    public static IServiceCollection AddParleyRealtime(this IServiceCollection services)
    {
        services.AddSingleton<Presence>();
        services.AddSingleton<Parley.Server.Storage.IEventPublisher, NoPublisher>();
        return services;
    }

    public static IEndpointRouteBuilder MapRealtime(this IEndpointRouteBuilder routes) => routes;

    private sealed class NoPublisher : Parley.Server.Storage.IEventPublisher
    {
        public void Publish(Parley.Server.Storage.StoredEvent e) { }
    }
}
