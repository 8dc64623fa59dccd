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

    /// <summary>Writes each event of a sync page as a frame object (<c>{type, data, cursor}</c>), one
    /// array each (the socket backlog sends them one by one).</summary>
    public async Task<List<byte[]>> RenderAsync(SyncPage page, string userId, StreamCursor since)
    {
        var lookups = await LookUpAsync(page, userId);
        var frames = new List<byte[]>(page.Events.Count);
        // Each event's cursor: the page's starting cursor moved past it and the events before it.
        var cursor = since;
        foreach (var e in page.Events)
        {
            cursor = cursor.Advance(e.Writer, e.Pos);
            if (lookups.Renders(e)) frames.Add(JsonBytes.Build(w => lookups.WriteFrame(w, e, cursor)));
        }
        return frames;
    }

    /// <summary>What rendering a page needs beyond its events, read before any frame is written so
    /// that the frames are written in one pass, straight into the answer: each message's chat
    /// members (the sender's status) and each chat event's summary as the reader sees it now.</summary>
    private async Task<PageLookups> LookUpAsync(SyncPage page, string userId)
    {
        metrics.SyncPage();
        var lookups = new PageLookups(userId);
        // Read once a page, and only for a page with messages: most readers never hid one.
        IReadOnlySet<string>? withHidden = null;
        foreach (var e in page.Events)
        {
            if (e.Kind is EventKind.Message or EventKind.MessageUpdated && !lookups.Members.ContainsKey(e.ChatId))
            {
                lookups.Members[e.ChatId] = await store.GetMembersAsync(e.ChatId);
                withHidden ??= await store.ChatsWithHiddenMessagesAsync(userId);
                if (withHidden.Contains(e.ChatId))
                {
                    lookups.Hidden[e.ChatId] = (await store.GetHiddenMessagesAsync(userId, e.ChatId)).Select(h => h.Pos).ToHashSet();
                }
            }
            else if (e.Kind == EventKind.Chat && !lookups.Summaries.ContainsKey(e.ChatId))
            {
                lookups.Summaries[e.ChatId] = await summaries.RenderAsync(e.ChatId, userId);
            }
        }
        return lookups;
    }

    private sealed class PageLookups(string userId)
    {
        private string UserId => userId;
        public readonly Dictionary<string, IReadOnlyList<MemberRecord>> Members = [];
        public readonly Dictionary<string, byte[]?> Summaries = [];
        /// <summary>Per chat, the positions of the messages the reader deleted for themself.</summary>
        public readonly Dictionary<string, HashSet<long>> Hidden = [];

        /// <summary>False for an event the reader gets no frame for (a chat they can no longer see,
        /// or a message they deleted for themself: a replay must not bring it back).</summary>
        public bool Renders(StoredEvent e) => e.Kind switch
        {
            EventKind.Chat => Summaries.GetValueOrDefault(e.ChatId) is not null,
            EventKind.Message or EventKind.MessageUpdated when e.Message is { } m && Hidden.GetValueOrDefault(e.ChatId)?.Contains(m.Pos) == true => false,
            // A member added again does not see what was sent before they rejoined (nor its edits);
            // a former member still gets what they saw while in. (An expiry's tombstone has no
            // position and nothing to see.)
            EventKind.Message or EventKind.MessageUpdated when e.Message is { Expired: false } m
                && Members[e.ChatId].FirstOrDefault(x => x.UserId == UserId) is { } me && !MessageRules.Sees(me, m) => false,
            _ => Frames.HasSharedData(e.Kind) || e.Kind is EventKind.MessageUpdated,
        };

        public void WriteFrame(Utf8JsonWriter w, StoredEvent e, StreamCursor cursor)
        {
            w.WriteStartObject();
            switch (e.Kind)
            {
                case EventKind.Message:
                case EventKind.MessageUpdated:
                    var m = e.Message!;
                    Frames.WriteType(w, e.Kind == EventKind.Message ? Frames.Message : Frames.MessageUpdated);
                    MessageJson.Write(w, m, MessageStatus.ForSender(Members[e.ChatId], m.SenderId, m.Seq));
                    break;
                case EventKind.Chat:
                    Frames.WriteType(w, Frames.Chat);
                    w.WriteRawValue(Summaries[e.ChatId]!, skipInputValidation: true);
                    break;
                default:
                    Frames.WriteShared(w, e);
                    break;
            }
            Frames.WriteCursor(w, cursor);
            w.WriteEndObject();
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

    /// <summary>The <c>/sync</c> answer: <c>{events, cursor, hasMore}</c>, its frames written
    /// straight into it.</summary>
    public async Task<IResult> SyncAnswerAsync(string userId, StreamCursor since, int limit)
    {
        var page = await SettledPageAsync(userId, since, limit);
        var lookups = await LookUpAsync(page, userId);
        return JsonBytes.Result(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("events");
            var cursor = since;
            foreach (var e in page.Events)
            {
                cursor = cursor.Advance(e.Writer, e.Pos);
                if (lookups.Renders(e)) lookups.WriteFrame(w, e, cursor);
            }
            w.WriteEndArray();
            Frames.WriteCursor(w, page.Cursor);
            w.WriteBoolean("hasMore", page.HasMore);
            w.WriteEndObject();
        });
    }
}
