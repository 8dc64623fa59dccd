using Amazon.DynamoDBv2.Model;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>An event an operation adds to a chat; its position (and a message's seq and id) are
/// filled in once the chat's positions are taken, so the operation reads them after the write.</summary>
internal sealed class EventDraft
{
    public required EventKind Kind { get; init; }
    public required IReadOnlyList<string> Recipients { get; set; }
    /// <summary>The one user the event is for (a receipt's sender, a removed member), if any.</summary>
    public string? Target { get; init; }
    public string? Data { get; init; }
    public StatusData? Status { get; init; }
    /// <summary>A new message: everything but id, seq and pos (filled in when it is stored). An
    /// update: the message as it now is.</summary>
    public MessageRecord? Message { get; set; }
    /// <summary>When a new disappearing message is deleted for good (ms), if it is one.</summary>
    public long? ExpiresAtMs { get; init; }
    public string? OriginConnectionId { get; init; }
    public long Pos { get; set; }
}

/// <summary>
/// One operation on one chat, run by the chat's lane: what it read (the chat item as it stands) and
/// what it adds (events, in order; changes to the chat item, made with the positions; item writes
/// that follow the events). Built again from a fresh read when another node changed the chat first.
/// </summary>
internal sealed class ChatWrite(Dictionary<string, AttributeValue> chatItem)
{
    public Dictionary<string, AttributeValue> ChatItem { get; } = chatItem;
    public ChatRecord Chat { get; } = ChatItems.Chat(chatItem);
    public long ChatNo => ChatItem.Long("chatNo");
    public long LastSeq => ChatItem.Long("lastSeq");
    public long DisappearAfterSeconds => ChatItem.Long("disappearAfter");

    public List<EventDraft> Events { get; } = [];

    /// <summary>Attributes of the chat item set together with its positions (name, timer...).</summary>
    public Dictionary<string, AttributeValue> ChatChanges { get; } = [];

    /// <summary>Writes that follow the events (memberships, links), run in order.</summary>
    public List<Func<Task>> Then { get; } = [];

    public EventDraft Add(EventDraft draft)
    {
        Events.Add(draft);
        return draft;
    }

    /// <summary>A new message; <paramref name="draft"/> has no id, seq or pos yet.</summary>
    public EventDraft AddMessage(MessageRecord draft, IReadOnlyList<string> recipients, string? originConnectionId = null, long? expiresAtMs = null) =>
        Add(new EventDraft { Kind = EventKind.Message, Message = draft, Recipients = recipients, OriginConnectionId = originConnectionId, ExpiresAtMs = expiresAtMs });

    public EventDraft AddEvent(EventKind kind, IReadOnlyList<string> recipients, string? target = null, string? data = null, MessageRecord? message = null, StatusData? status = null) =>
        Add(new EventDraft { Kind = kind, Recipients = recipients, Target = target, Data = data, Message = message, Status = status });
}
