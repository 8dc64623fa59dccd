using Parley.Server.Auth;
using Parley.Server.Chats;
using Parley.Server.Messages;
using Parley.Server.Realtime.Bus;
using Parley.Server.Storage;

namespace Parley.Server.Realtime;

public static class RealtimeSetup
{
    public static IServiceCollection AddParleyRealtime(this IServiceCollection services, Configuration.ParleyOptions options)
    {
        services.AddParleyBus(options);
        services.AddSingleton<SessionEnds>();
        services.AddSingleton<Presence>();
        services.AddSingleton<TypingTracker>();
        services.AddSingleton<ConnectionRegistry>();
        services.AddSingleton<ChatSummaries>();
        services.AddSingleton<EventReader>();
        services.AddSingleton<LocalFanOut>();
        services.AddSingleton<MessageRateLimiter>();
        services.AddSingleton<Users.BlockCache>();
        services.AddSingleton<Users.Blocking>();
        services.AddSingleton<Users.ProfileAnnouncer>();
        services.AddSingleton<MessageService>();
        services.AddSingleton<ClientFrames>();
        services.AddHostedService<EphemeralEvents>();
        return services;
    }

    public static IEndpointRouteBuilder MapRealtime(this IEndpointRouteBuilder routes)
    {
        routes.MapWsTickets();
        routes.MapSyncApi();
        return routes;
    }
}

/// <summary>Announces what is held only in memory: presence changes to the users who share a 1:1
/// chat or a group of up to <c>PresenceGroupLimit</c> members, and lapsed typing signals to the chat.</summary>
internal sealed class EphemeralEvents(
    Presence presence, TypingTracker typing, LocalFanOut fanOut, IParleyStore store,
    Users.BlockCache blocks, SessionEnds sessionEnds, Users.Blocking blocking,
    Microsoft.Extensions.Options.IOptions<Configuration.ParleyOptions> options) : BackgroundService
{
    // Built with the host, not on first use, so they hear the bus from the start.
    private readonly object[] _listeners = [sessionEnds, blocking];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        presence.Changed += OnPresenceChanged;
        try
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var announce = typing.TakeDue();
                foreach (var (chatId, userId) in typing.TakeExpired())
                {
                    if (typing.TryAnnounce(chatId, userId, false)) announce.Add((chatId, userId, false));
                }
                foreach (var (chatId, userId, isTyping) in announce)
                {
                    try
                    {
                        var members = await store.GetMembersAsync(chatId);
                        await ClientFrames.AnnounceTypingAsync(fanOut, blocks, members, chatId, userId, isTyping);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        // Typing is best effort: the signal lapses on the clients by itself.
                    }
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
        }
    }

    // The announcements of one user, last one queued. Each announcement reads the store first, so
    // two changes in quick succession (offline, then online again) could otherwise overtake each
    // other and leave contacts showing the older state.
    private readonly Dictionary<string, Task> _presenceQueues = [];

    private void OnPresenceChanged(string userId, bool online, long lastSeen)
    {
        lock (_presenceQueues)
        {
            var previous = _presenceQueues.GetValueOrDefault(userId, Task.CompletedTask);
            var next = previous.ContinueWith(_ => AnnouncePresenceAsync(userId, online, lastSeen), TaskScheduler.Default).Unwrap();
            _presenceQueues[userId] = next;
            next.ContinueWith(done =>
            {
                lock (_presenceQueues)
                {
                    if (_presenceQueues.TryGetValue(userId, out var last) && last == done) _presenceQueues.Remove(userId);
                }
            }, TaskScheduler.Default);
        }
    }

    private async Task AnnouncePresenceAsync(string userId, bool online, long lastSeen)
    {
        try
        {
            var contacts = await store.GetContactsAsync(userId, options.Value.Realtime.PresenceGroupLimit);
            // A block either way hides presence both ways: users this user blocked, and users who
            // blocked this user, do not see it.
            var blocks = await store.GetBlocksAsync(userId);
            // Each node announces to its own sockets (in a cluster, every node sees the change).
            fanOut.BroadcastLocal(contacts.Where(c => !blocks.EitherWay(c)), Frames.Presence(userId, online, lastSeen));
        }
        catch (Exception)
        {
            // Presence is best effort; the next change or a chat list fetch corrects it.
        }
    }
}
