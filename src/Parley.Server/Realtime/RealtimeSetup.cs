using Parley.Server.Auth;
using Parley.Server.Chats;
using Parley.Server.Messages;
using Parley.Server.Storage;

namespace Parley.Server.Realtime;

public static class RealtimeSetup
{
    public static IServiceCollection AddParleyRealtime(this IServiceCollection services)
    {
        services.AddSingleton<Presence>();
        services.AddSingleton<TypingTracker>();
        services.AddSingleton<ConnectionRegistry>();
        services.AddSingleton<ChatSummaries>();
        services.AddSingleton<EventReader>();
        services.AddSingleton<LocalFanOut>();
        services.AddSingleton<MessageRateLimiter>();
        services.AddSingleton<Users.BlockCache>();
        services.AddSingleton<Users.ProfileAnnouncer>();
        services.AddSingleton<MessageService>();
        services.AddSingleton<ClientFrames>();
        services.AddHostedService<EphemeralEvents>();
        return services;
    }

    public static IEndpointRouteBuilder MapRealtime(this IEndpointRouteBuilder routes)
    {
        routes.MapWebSocketEndpoint();
        routes.MapWsTickets();
        routes.MapSyncApi();
        return routes;
    }
}

/// <summary>Announces what is held only in memory: presence changes to the users who share a chat,
/// lapsed typing signals to the chat, and closes the sockets of users whose sessions were revoked.</summary>
internal sealed class EphemeralEvents(
    Presence presence, TypingTracker typing, LocalFanOut fanOut, ConnectionRegistry registry, IChatStore store, IAccountStore accounts,
    SessionRevocations revocations) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        presence.Changed += OnPresenceChanged;
        revocations.Revoked += OnRevoked;
        try
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                foreach (var (chatId, userId) in typing.TakeExpired())
                {
                    var members = await store.GetMembersAsync(chatId);
                    fanOut.Broadcast(members.Where(m => m.UserId != userId).Select(m => m.UserId), Frames.Typing(chatId, userId, false));
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
        finally
        {
            presence.Changed -= OnPresenceChanged;
            revocations.Revoked -= OnRevoked;
        }
    }

    private void OnPresenceChanged(string userId, bool online, long lastSeen) => _ = AnnouncePresenceAsync(userId, online, lastSeen);

    private async Task AnnouncePresenceAsync(string userId, bool online, long lastSeen)
    {
        try
        {
            var contacts = await store.GetContactsAsync(userId);
            // Users this user blocked do not see their presence.
            var blocked = (await accounts.GetBlocksAsync(userId)).Blocked;
            // Each node announces to its own sockets (in a cluster, every node sees the change).
            fanOut.BroadcastLocal(contacts.Where(c => !blocked.Contains(c)), Frames.Presence(userId, online, lastSeen));
        }
        catch (Exception)
        {
            // Presence is best effort; the next change or a chat list fetch corrects it.
        }
    }

    private void OnRevoked(string userId)
    {
        foreach (var connection in registry.For(userId)) connection.Close(System.Net.WebSockets.WebSocketCloseStatus.PolicyViolation, "Session revoked");
    }
}
