using System.Text.Json;
using Parley.Server.Chats;
using Parley.Server.Common;
using Parley.Server.Messages;
using Parley.Server.Storage;
using Parley.Server.Storage.Rules;

namespace Parley.Server.Realtime;

/// <summary>Turns stored events read back from the store (for <c>/sync</c> and <c>/ws?since=</c>)
/// into the frames that carried them live, rendered for one reader with current state.</summary>
public sealed class EventReader(IChatStore store, IEventLog log, ChatSummaries summaries, Operations.ParleyMetrics metrics)
{
    public const int MaxPage = 1000;

    /// <summary>Writes each event of a sync page as a frame object (<c>{type, data, cursor}</c>).</summary>
    public async Task<List<byte[]>> RenderAsync(SyncPage page, string userId, StreamCursor since)
    {
        metrics.SyncPage();
        var members = new Dictionary<string, IReadOnlyList<MemberRecord>>();
        var frames = new List<byte[]>(page.Events.Count);
        // Each event's cursor: the page's starting cursor moved past it and the events before it.
        var cursor = since;
        foreach (var e in page.Events)
        {
            cursor = cursor.Advance(e.Writer, e.Pos);
            var frame = await RenderAsync(e, userId, members, cursor.ToString());
            if (frame is not null) frames.Add(frame);
        }
        return frames;
    }

    private async Task<byte[]?> RenderAsync(StoredEvent e, string userId, Dictionary<string, IReadOnlyList<MemberRecord>> members, string cursor)
    {
        switch (e.Kind)
        {
            case EventKind.Message:
            case EventKind.MessageUpdated:
                if (!members.TryGetValue(e.ChatId, out var chatMembers))
                {
                    chatMembers = await store.GetMembersAsync(e.ChatId);
                    members[e.ChatId] = chatMembers;
                }
                var m = e.Message!;
                var type = e.Kind == EventKind.Message ? Frames.Message : Frames.MessageUpdated;
                return Frames.Build(type, w => MessageJson.Write(w, m, MessageStatus.ForSender(chatMembers, m.SenderId, m.Seq)), cursor);
            case EventKind.Chat:
                var summary = await summaries.RenderAsync(e.ChatId, userId);
                return summary is null ? null : Frames.Build(Frames.Chat, w => w.WriteRawValue(summary, skipInputValidation: true), cursor);
            default:
                return Frames.Shared(e, cursor);
        }
    }

    /// <summary>How long a sync waits for events stored before it but held back (not yet settled by
    /// their writer, see <see cref="SyncPage.HeldBackAt"/>) to settle. A live node settles its events
    /// before it announces them, within milliseconds; only the events of a node that died just after
    /// storing them stay held (until its lease runs out), and the page then stops short of them.</summary>
    private static readonly TimeSpan HeldBackWait = TimeSpan.FromSeconds(2);

    /// <summary>A page of the user's events after <paramref name="since"/>, read again while it stops
    /// short of an event stored before it was asked for and held back, up to <see cref="HeldBackWait"/>:
    /// so a page that says there is no more has everything stored before it was asked for. The page
    /// answered keeps <see cref="SyncPage.HeldBackAt"/> only when it still does.</summary>
    public async Task<SyncPage> SettledPageAsync(string userId, StreamCursor since, int limit, CancellationToken ct = default)
    {
        var began = SyncPages.ClockMicros();
        var deadline = DateTime.UtcNow + HeldBackWait;
        while (true)
        {
            var page = await log.SyncAsync(userId, since, limit);
            if (!page.HeldBackSince(began)) return page with { HeldBackAt = 0 };
            if (page.HasMore || DateTime.UtcNow > deadline) return page;
            await Task.Delay(25, ct);
        }
    }

    /// <summary>The <c>/sync</c> answer: <c>{events, cursor, hasMore}</c>.</summary>
    public async Task<byte[]> SyncBodyAsync(string userId, StreamCursor since, int limit)
    {
        var page = await SettledPageAsync(userId, since, limit);
        var frames = await RenderAsync(page, userId, since);
        return JsonBytes.Build(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("events");
            foreach (var frame in frames) w.WriteRawValue(frame, skipInputValidation: true);
            w.WriteEndArray();
            w.WriteString("cursor", page.Cursor.ToString());
            w.WriteBoolean("hasMore", page.HasMore);
            w.WriteEndObject();
        });
    }
}
