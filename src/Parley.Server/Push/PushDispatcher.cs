using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Parley.Server.Common;
using Parley.Server.Configuration;
using Parley.Server.Operations;
using Parley.Server.Realtime;
using Parley.Server.Storage;

namespace Parley.Server.Push;

/// <summary>
/// Decides who gets a push for a new message. The send path only hands committed messages over
/// (in memory, never waiting): recipients with a socket on this node are left out at once. A few
/// seconds later the rest are checked against the store: a recipient whose delivered watermark
/// reached the message (a socket on another node took it), who muted the chat, or who has no
/// subscription gets nothing; the others get one encrypted notification per subscription, sent by
/// <see cref="PushSender"/>. Each node handles the messages it committed, so each push goes out once.
/// </summary>
public sealed partial class PushDispatcher : BackgroundService
{
    private const int PreviewChars = 100;

    private readonly ConnectionRegistry _registry;
    private readonly IParleyStore _store;
    private readonly PushSender _sender;
    private readonly PushOptions _options;
    private readonly TimeProvider _clock;
    private readonly ParleyMetrics _metrics;
    private readonly ILogger<PushDispatcher> _logger;
    private readonly Channel<PendingPush> _queue;

    private sealed record PendingPush(string MessageId, string ChatId, long Seq, string SenderId, string[] Candidates, long DueAt);

    public PushDispatcher(EventStream events, ConnectionRegistry registry, IParleyStore store, PushSender sender, IOptions<ParleyOptions> options,
        TimeProvider clock, ParleyMetrics metrics, ILogger<PushDispatcher> logger)
    {
        _registry = registry;
        _store = store;
        _sender = sender;
        _options = options.Value.Push;
        _clock = clock;
        _metrics = metrics;
        _logger = logger;
        _queue = Channel.CreateBounded<PendingPush>(new BoundedChannelOptions(Math.Max(1, _options.QueueCapacity))
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.DropWrite,
        });
        events.Subscribe(OnCommitted);
    }

    private void OnCommitted(StoredEvent e)
    {
        if (e.Kind != EventKind.Message || e.Message is not { Type: not MessageTypes.System } m) return;
        string[]? candidates = null;
        var count = 0;
        var recipients = e.Recipients;
        for (var i = 0; i < recipients.Count; i++)
        {
            var userId = recipients[i];
            if (userId == m.SenderId || _registry.For(userId).Length > 0) continue;
            candidates ??= new string[recipients.Count];
            candidates[count++] = userId;
        }
        if (candidates is null) return;
        var due = _clock.NowMs() + (long)(_options.DelaySeconds * 1000);
        if (!_queue.Writer.TryWrite(new PendingPush(m.Id, m.ChatId, m.Seq, m.SenderId, candidates[..count], due)))
        {
            _metrics.PushDropped();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var pending in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                // Messages queue in commit order with the same delay: waiting for the head is waiting for each in turn.
                var wait = pending.DueAt - _clock.NowMs();
                if (wait > 0) await Task.Delay(TimeSpan.FromMilliseconds(wait), _clock, stoppingToken);
                try
                {
                    await DispatchAsync(pending);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    PushLog.DispatchFailed(_logger, ex);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down: pushes not yet checked are dropped, as after a crash (the messages are safe).
        }
    }

    private async Task DispatchAsync(PendingPush p)
    {
        var subscriptions = await _store.GetPushSubscriptionsAsync(p.Candidates);
        if (subscriptions.Count == 0) return;
        // Read the message as it is now: one deleted or expired meanwhile goes out in no push.
        var message = await _store.GetMessageAsync(p.MessageId);
        if (message is null || message.Deleted) return;
        var members = (await _store.GetMembersAsync(p.ChatId)).ToDictionary(m => m.UserId);
        var settings = await _store.GetMemberSettingsAsync(p.ChatId);
        var chat = await _store.GetChatAsync(p.ChatId);
        if (chat is null) return;
        var now = _clock.NowMs();
        foreach (var subscription in subscriptions)
        {
            if (!members.TryGetValue(subscription.UserId, out var member) || member.DeliveredSeq >= p.Seq) continue;
            var mine = settings.GetValueOrDefault(subscription.UserId) ?? ChatSettings.Default(p.ChatId);
            if (mine.IsMuted(now)) continue;
            _sender.Enqueue(subscription, Payload(message, chat, mine.Previews), Topic(p.ChatId));
        }
    }

    /// <summary>What the service worker shows: the chat, who wrote, and (unless previews are off) a short preview.</summary>
    private static byte[] Payload(MessageRecord m, ChatRecord chat, bool previews) => JsonBytes.Build(w =>
    {
        w.WriteStartObject();
        w.WriteString("type", "message");
        w.WriteString("chatId", m.ChatId);
        w.WriteString("messageId", m.Id);
        w.WriteString("senderName", m.SenderName);
        w.WriteBoolean("isGroup", chat.IsGroup);
        w.WriteString("title", chat.IsGroup ? chat.Name : m.SenderName);
        w.WriteString("body", previews ? Preview(m, chat.IsGroup) : "New message");
        w.WriteEndObject();
    });

    private static string Preview(MessageRecord m, bool group)
    {
        var text = m.Type switch
        {
            "image" => "📷 Photo",
            "audio" => "🎤 Voice message",
            "video" => "🎬 Video",
            "file" => "📎 File",
            _ => m.Content ?? "",
        };
        if (m.Type != MessageTypes.Text && !string.IsNullOrWhiteSpace(m.Content)) text += ": " + m.Content;
        if (group) text = m.SenderName + ": " + text;
        return TextLength.Shorten(text, PreviewChars);
    }

    /// <summary>The <c>Topic</c> header: one per chat, so a push service keeps only a chat's newest
    /// notification for an offline device (32 characters of the URL-safe base64 alphabet).</summary>
    public static string Topic(string chatId) =>
        System.Buffers.Text.Base64Url.EncodeToString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(chatId)).AsSpan(0, 24));
}
