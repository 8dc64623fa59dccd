namespace Parley.Server.Storage;

/// <summary>One member's settings for one chat, with the chat-wide disappearing-messages timer.
/// <see cref="MutedUntil"/> is 0 when not muted and <see cref="long.MaxValue"/> when muted for good.</summary>
public sealed record ChatSettings(string ChatId, long MutedUntil, bool Previews, bool Pinned, bool Archived, int DisappearAfterSeconds)
{
    public const long MutedForever = long.MaxValue;

    public static ChatSettings Default(string chatId, int disappearAfterSeconds = 0) => new(chatId, 0, true, false, false, disappearAfterSeconds);

    public bool IsMuted(long now) => MutedUntil > now;
}

/// <summary>What a member asks to change; null members stay as they are.</summary>
public sealed record ChatSettingsChange(long? MutedUntil, bool? Previews, bool? Pinned, bool? Archived, int? DisappearAfterSeconds)
{
    public bool ChangesOwnSettings => MutedUntil is not null || Previews is not null || Pinned is not null || Archived is not null;

    /// <summary>The member's own settings once this change is made (the timer is the chat's: left as it is).</summary>
    public ChatSettings ApplyTo(ChatSettings current) => current with
    {
        MutedUntil = MutedUntil ?? current.MutedUntil,
        Previews = Previews ?? current.Previews,
        Pinned = Pinned ?? current.Pinned,
        Archived = Archived ?? current.Archived,
    };
}

public enum SettingsOutcome { Done, NotFound, NotAllowed }

public sealed record SettingsResult(SettingsOutcome Outcome, ChatSettings? Settings);

/// <summary>The disappearing-messages timers a chat may have, in seconds (0: off).</summary>
public static class DisappearTimers
{
    public static readonly int[] Allowed = [0, 86_400, 604_800, 7_776_000];

    /// <summary>What a <c>disappearing_messages</c> message may say after the actor's name.</summary>
    public static readonly string[] Descriptions = [.. Allowed.Select(Describe)];

    /// <summary>A <c>disappearing_messages</c> message's stored content without an actor's name: the
    /// message is shown with the sender's name as the message carries it (so a deleted account's
    /// shows "Deleted account", as its other system messages do). It stores the description alone;
    /// messages stored before that begin with the actor's name at the time ("Ann turned on …"),
    /// which is cut off here. Null for a content that ends with no known description.</summary>
    public static string? Unnamed(string? content) =>
        content is null ? null : Array.Find(Descriptions, d => content.EndsWith(d, StringComparison.Ordinal));

    /// <summary>The system message's text after the actor's name: "turned on disappearing messages: …".</summary>
    public static string Describe(int seconds) => seconds switch
    {
        0 => "turned off disappearing messages",
        _ => $"turned on disappearing messages: new messages disappear after {Days(seconds)}",
    };

    private static string Days(int seconds) => (seconds / 86_400) switch
    {
        1 => "24 hours",
        var days => $"{days} days",
    };
}

/// <summary>The chat settings part of the store.</summary>
public interface IChatSettingsStore
{
    /// <summary>The user's settings of the chats they are in (one chat when <paramref name="onlyChatId"/> is set).</summary>
    Task<IReadOnlyDictionary<string, ChatSettings>> GetChatSettingsAsync(string userId, string? onlyChatId);

    /// <summary>Changes the member's own settings and, when asked, the chat's disappearing timer (group
    /// admins, either side of a 1:1); a timer change adds a system message for everyone.</summary>
    Task<SettingsResult> UpdateChatSettingsAsync(string chatId, string userId, ChatSettingsChange change, long now);

    /// <summary>Deletes for good up to <paramref name="max"/> messages whose time ran out by
    /// <paramref name="now"/> (with their attachments and the quotes of them), each announced by a
    /// <see cref="EventKind.MessageUpdated"/> event; returns how many it deleted, and the attachments
    /// nothing uses any more (their rows are gone: the caller deletes their bytes from the blob store).
    /// Each expired message is handed to one caller only, whatever the number of nodes.</summary>
    Task<ExpiredMessages> ExpireMessagesAsync(long now, int max);
}

/// <summary>What one sweep of disappearing messages deleted.</summary>
public sealed record ExpiredMessages(int Count, IReadOnlyList<string> ForgottenMedia)
{
    public static readonly ExpiredMessages None = new(0, []);
}
