using System.Text.Json;
using Parley.Server.Chats;
using Parley.Server.Common;
using Parley.Server.Messages;
using Parley.Server.Storage;

namespace Parley.Server.Realtime;

/// <summary>Turns stored events read back from the store (for <c>/sync</c> and <c>/ws?since=</c>)
/// into the frames that carried them live, rendered for one reader with current state.</summary>
public sealed class EventReader(IChatStore store, IEventLog log, ChatSummaries summaries, Operations.ParleyMetrics metrics)
{
    public const int MaxPage = 1000;

    /// <summary>Writes each event of a sync page as a frame object (<c>{type, data, cursor}</c>).</summary>
    public async Task<List<byte[]>> RenderAsync(SyncPage page, string userId)
    {
        metrics.SyncPage();
        var members = new Dictionary<string, IReadOnlyList<MemberRecord>>();
        var frames = new List<byte[]>(page.Events.Count);
        foreach (var e in page.Events)
        {
            var frame = await RenderAsync(e, userId, members);
            if (frame is not null) frames.Add(frame);
        }
        return frames;
    }

    private async Task<byte[]?> RenderAsync(StoredEvent e, string userId, Dictionary<string, IReadOnlyList<MemberRecord>> members)
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
                return Frames.Build(type, w => MessageJson.Write(w, m, MessageStatus.ForSender(chatMembers, m.SenderId, m.Seq)), e.Pos);
            case EventKind.Chat:
                var summary = await summaries.RenderAsync(e.ChatId, userId);
                return summary is null ? null : Frames.Build(Frames.Chat, w => w.WriteRawValue(summary, skipInputValidation: true), e.Pos);
            default:
                return Frames.Shared(e);
        }
    }

    /// <summary>The <c>/sync</c> answer: <c>{events, cursor, hasMore}</c>.</summary>
    public async Task<byte[]> SyncBodyAsync(string userId, long since, int limit)
    {
        var page = await log.SyncAsync(userId, since, limit);
        var frames = await RenderAsync(page, userId);
        return JsonBytes.Build(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("events");
            foreach (var frame in frames) w.WriteRawValue(frame, skipInputValidation: true);
            w.WriteEndArray();
            w.WriteString("cursor", Cursor.Encode(page.Cursor));
            w.WriteBoolean("hasMore", page.HasMore);
            w.WriteEndObject();
        });
    }
}
