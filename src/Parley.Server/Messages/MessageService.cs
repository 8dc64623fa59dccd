using System.Text.Json;
using Microsoft.Extensions.Options;
using Parley.Server.Common;
using Parley.Server.Configuration;
using Parley.Server.Storage;
using Parley.Server.Storage.Rules;
using Parley.Server.Users;

namespace Parley.Server.Messages;

/// <summary>What a client asks to send, over REST or WebSocket. Fields the server owns (sender,
/// status, timestamp) are not here, so a client cannot set them.</summary>
public sealed record SendCommand(string? ChatId, string? RecipientId, string? Content, string? ClientMessageId, string? Type, string? ReplyTo)
{
    /// <summary>For image, audio, video and file messages: the uploaded media and its file name.</summary>
    public string? MediaId { get; init; }
    public string? FileName { get; init; }
}

/// <summary>A refusal: the HTTP status for REST, the code for WebSocket error frames.</summary>
public sealed record Refusal(int Status, string Code, string Message)
{
    public static Refusal BadRequest(string message) => new(StatusCodes.Status400BadRequest, "bad_request", message);
    public static Refusal NotFound(string message) => new(StatusCodes.Status404NotFound, "not_found", message);
    public static readonly Refusal ChatNotFound = NotFound("Chat not found.");
    public static readonly Refusal MessageNotFound = NotFound("Message not found.");
    public static readonly Refusal Blocked = new(StatusCodes.Status403Forbidden, "blocked", "This user does not accept your messages.");
    public static readonly Refusal UserNotFound = NotFound("User not found.");
    /// <summary>A 1:1 chat whose other member deleted their account: its history stays readable, but nobody would receive a new message.</summary>
    public static readonly Refusal RecipientDeleted = NotFound("This user has deleted their account and can no longer receive messages.");
    public static readonly Refusal RateLimited = new(StatusCodes.Status429TooManyRequests, "rate_limited", "You are sending messages too fast; slow down.");

    public IResult ToResult() => Status == StatusCodes.Status429TooManyRequests
        ? ApiError.TooManyRequests(TimeSpan.FromSeconds(1), Message)
        : ApiError.Status(Status, Message);
}

/// <summary>A send handed to the store: <see cref="Completion"/> ends with the stored message or the refusal.</summary>
public readonly record struct PendingSend(Task<(SendResult? Result, Refusal? Refusal)> Completion)
{
    public static PendingSend Refused(Refusal refusal) => new(Task.FromResult<(SendResult?, Refusal?)>((null, refusal)));
}

/// <summary>Sending and receipts, shared by the REST endpoints and the WebSocket protocol so both
/// enforce the same rules.</summary>
public sealed class MessageService(IChatStore store, IAccountStore accounts, IMediaStore mediaStore, MessageRateLimiter rateLimiter, BlockCache blocks, IOptions<ParleyOptions> options, TimeProvider clock)
{
    public const int MaxClientMessageIdLength = 128;

    public async Task<(SendResult? Result, Refusal? Refusal)> SendAsync(string userId, SendCommand command, string? originConnectionId) =>
        await (await BeginSendAsync(userId, command, originConnectionId)).Completion;

    /// <summary>A message's status as its sender sees it now (the least advanced over the other members).</summary>
    public async Task<string> SenderStatusAsync(MessageRecord message) =>
        MessageStatus.ForSender(await store.GetMembersAsync(message.ChatId), message.SenderId, message.Seq);

    /// <summary>Checks a send and hands it to the store's writer, returning once it is queued there:
    /// sends begun one after another are stored in that order, so a socket may begin its next send
    /// while this one commits. <see cref="PendingSend.Completion"/> ends when it is stored or refused.</summary>
    public async ValueTask<PendingSend> BeginSendAsync(string userId, SendCommand command, string? originConnectionId)
    {
        var type = command.Type ?? MessageTypes.Text;
        string? mediaJson = null;
        if (type == MessageTypes.Text)
        {
            if (command.MediaId is not null) return PendingSend.Refused(Refusal.BadRequest("A text message carries no media; set type to image, audio, video or file."));
            if (CheckContent(command.Content) is { } contentRefusal) return PendingSend.Refused(contentRefusal);
        }
        else if (MessageTypes.Media.Contains(type))
        {
            if (command.Content is { } caption && CheckContent(caption) is { } captionRefusal && !string.IsNullOrWhiteSpace(caption))
            {
                return PendingSend.Refused(captionRefusal);
            }
            var (json, mediaRefusal) = await MediaJsonAsync(userId, command);
            if (mediaRefusal is not null) return PendingSend.Refused(mediaRefusal);
            mediaJson = json;
        }
        else
        {
            return PendingSend.Refused(Refusal.BadRequest(type == MessageTypes.System
                ? "type system is reserved for the server."
                : "type must be text, image, audio, video or file."));
        }
        if (command.ClientMessageId is { } clientId && (clientId.Length == 0 || clientId.Length > MaxClientMessageIdLength))
        {
            return PendingSend.Refused(Refusal.BadRequest($"clientMessageId must be 1 to {MaxClientMessageIdLength} characters."));
        }
        if (command.ReplyTo is { Length: 0 or > 64 }) return PendingSend.Refused(Refusal.BadRequest("replyTo is not a message id."));

        var chatId = command.ChatId is null ? null : Chats.ChatIds.Canonical(command.ChatId);
        if (chatId is null)
        {
            if (command.RecipientId is null) return PendingSend.Refused(Refusal.BadRequest("chatId or recipientId is required."));
            var (directId, refusal) = await DirectChatAsync(userId, command.RecipientId);
            if (refusal is not null) return PendingSend.Refused(refusal);
            chatId = directId;
        }
        if (await OtherMemberRefusalAsync(userId, chatId!) is { } otherRefusal) return PendingSend.Refused(otherRefusal);
        if (command.ReplyTo is { } replyTo && await ReplyUnseenAsync(userId, chatId!, replyTo)) return PendingSend.Refused(ReplyNotFound);
        if (!rateLimiter.TryTake(userId)) return PendingSend.Refused(Refusal.RateLimited);

        var message = new NewMessage(chatId!, userId, type, command.Content, command.ClientMessageId, command.ReplyTo, mediaJson, clock.NowMs())
        {
            MediaId = command.MediaId,
        };
        return new PendingSend(FinishSendAsync(message, store.SendMessageAsync(message, originConnectionId), originConnectionId));
    }

    private static readonly Refusal ReplyNotFound = Refusal.BadRequest("replyTo does not name a message in this chat.");

    /// <summary>Whether the reply names a message of the chat the sender does not see: one sent
    /// before they (last) joined. Its quote would show them what their history does not. (A message
    /// of another chat or none, or a sender who is no member, the store refuses itself.)</summary>
    private async Task<bool> ReplyUnseenAsync(string userId, string chatId, string replyTo)
    {
        var quoted = await store.GetMessageAsync(replyTo);
        if (quoted is null || quoted.ChatId != chatId) return false;
        var member = await store.GetMemberAsync(chatId, userId);
        return member is not null && !MessageRules.Sees(member, quoted);
    }

    private async Task<(SendResult? Result, Refusal? Refusal)> FinishSendAsync(NewMessage message, Task<SendResult> stored, string? originConnectionId)
    {
        var result = await stored;
        // A client may name a 1:1 chat that does not exist yet by its id (chat_{me}_{them}): the
        // first message creates it, as with recipientId. Only a refused send pays for the check.
        if (result.Outcome == SendOutcome.NotMember && Chats.ChatIds.OtherMember(message.ChatId, message.SenderId) is { } other
            && await store.GetChatAsync(message.ChatId) is null)
        {
            var (_, refusal) = await DirectChatAsync(message.SenderId, other);
            if (refusal is not null) return (null, refusal.Status == StatusCodes.Status404NotFound ? Refusal.ChatNotFound : refusal);
            result = await store.SendMessageAsync(message, originConnectionId);
        }
        return result.Outcome switch
        {
            SendOutcome.Stored or SendOutcome.Duplicate => (result, null),
            SendOutcome.ReplyNotFound => (null, ReplyNotFound),
            _ => (null, Refusal.ChatNotFound),
        };
    }

    /// <summary>The stored description of a media message's attachment; the sender must be able to see the media.</summary>
    private async Task<(string? Json, Refusal? Refusal)> MediaJsonAsync(string userId, SendCommand command)
    {
        if (string.IsNullOrEmpty(command.MediaId)) return (null, Refusal.BadRequest("media.mediaId is required for a media message: upload with POST /media first."));
        if (command.FileName is not null && TextLength.Exceeds(command.FileName, 255)) return (null, Refusal.BadRequest("media.fileName must be at most 255 characters."));
        // A line break or a right-to-left override in a name shown to others disguises it ("txt.exe" shown as "exe.txt").
        if (command.FileName is { } fileName && fileName.Any(Common.LogText.IsHidden))
        {
            return (null, Refusal.BadRequest("media.fileName must not contain control or invisible characters."));
        }
        var media = command.MediaId.Length > 64 ? null : await mediaStore.GetMediaAsync(command.MediaId);
        if (media is null || !await mediaStore.CanSeeMediaAsync(media.Id, userId)) return (null, Refusal.BadRequest("media.mediaId does not name an upload of yours."));
        var json = JsonBytes.Build(w =>
        {
            w.WriteStartObject();
            w.WriteString("mediaId", media.Id);
            if (command.FileName is not null) w.WriteString("fileName", command.FileName);
            w.WriteString("contentType", media.ContentType);
            w.WriteNumber("size", media.Size);
            w.WriteString("url", Media.MediaApi.Url(media.Id));
            w.WriteEndObject();
        });
        return (System.Text.Encoding.UTF8.GetString(json), null);
    }

    /// <summary>Message text: present, not blank, within the configured length (in characters, see <see cref="TextLength"/>).</summary>
    public Refusal? CheckContent(string? content)
    {
        var maxChars = options.Value.Limits.MaxMessageChars;
        if (content is null || string.IsNullOrWhiteSpace(content)) return Refusal.BadRequest("content is required.");
        if (TextLength.Exceeds(content, maxChars)) return Refusal.BadRequest($"content must be at most {maxChars} characters.");
        if (content.Contains('\0')) return Refusal.BadRequest("content must not contain NUL characters.");
        return null;
    }

    /// <summary>In a 1:1 chat, why the other member cannot receive the sender's message: they
    /// blocked the sender, or deleted their account. The other member is read off the chat id, and
    /// both come from a short-lived cache: no store read per send.</summary>
    private ValueTask<Refusal?> OtherMemberRefusalAsync(string userId, string chatId)
    {
        if (!Chats.ChatIds.TryOtherMember(chatId, userId, out var other)) return ValueTask.FromResult<Refusal?>(null);
        if (blocks.TryGetFresh(other, out var cached, out var deleted) && !deleted)
        {
            return ValueTask.FromResult<Refusal?>(cached.Blocked.Contains(userId) ? Refusal.Blocked : null);
        }
        return OtherMemberRefusalAsync(other.ToString(), userId, chatId);
    }

    private async ValueTask<Refusal?> OtherMemberRefusalAsync(string otherId, string userId, string chatId)
    {
        var (otherBlocks, deleted) = await blocks.GetWithDeletedAsync(otherId);
        if (!deleted) return otherBlocks.Blocked.Contains(userId) ? Refusal.Blocked : null;
        // Only a member learns that the account is deleted; for anyone else the chat does not exist
        // (and a deleted account cannot be messaged into a new one).
        return await store.GetMemberAsync(chatId, userId) is null ? Refusal.ChatNotFound : Refusal.RecipientDeleted;
    }

    /// <summary>The 1:1 chat with another user, created on first use.</summary>
    public async Task<(string? ChatId, Refusal? Refusal)> DirectChatAsync(string userId, string participantId, bool createIfMissing = true)
    {
        if (participantId == userId) return (null, Refusal.BadRequest("You cannot start a chat with yourself."));
        // A deleted account is answered as an unknown id: nobody could ever read the chat's messages.
        if (participantId.Length > 64 || await accounts.GetUserAsync(participantId) is not { IsDeleted: false }) return (null, Refusal.UserNotFound);
        var chatId = DirectChatId(userId, participantId);
        // Someone who blocked the caller gets no new chat from them: even empty, it would show in their list.
        if (await OtherMemberRefusalAsync(userId, chatId) is { } blocked && await store.GetChatAsync(chatId) is null) return (null, blocked);
        if (createIfMissing) await store.GetOrCreateDirectChatAsync(chatId, userId, participantId, clock.NowMs());
        return (chatId, null);
    }

    public static string DirectChatId(string a, string b) => Chats.ChatIds.Direct(a, b);

    /// <summary>Marks everything up to the message (default: the newest) read.</summary>
    public async Task<Refusal?> MarkReadAsync(string userId, string chatId, string? messageId)
    {
        chatId = Chats.ChatIds.Canonical(chatId);
        var member = await store.GetMemberAsync(chatId, userId);
        if (member is null) return Refusal.ChatNotFound;
        long upTo;
        if (messageId is null)
        {
            upTo = (await store.GetChatAsync(chatId))?.LastSeq ?? 0;
        }
        else
        {
            var message = await store.GetMessageAsync(messageId);
            if (message is null || !member.Sees(message)) return Refusal.MessageNotFound;
            upTo = message.Seq;
        }
        await store.AdvanceWatermarkAsync(chatId, userId, upTo, read: true, clock.NowMs());
        return null;
    }

    /// <summary>Records that the caller received (or read) a message and everything before it.</summary>
    public async Task<(string? Status, Refusal? Refusal)> UpdateStatusAsync(string userId, string messageId, string? status)
    {
        if (status is not (MessageStatus.Delivered or MessageStatus.Read)) return (null, Refusal.BadRequest("status must be 'delivered' or 'read'."));
        var message = await store.GetMessageAsync(messageId);
        var member = message is null ? null : await store.GetMemberAsync(message.ChatId, userId);
        if (message is null || member is null || !member.Sees(message)) return (null, Refusal.MessageNotFound);
        if (message.SenderId == userId)
        {
            // A sender's own message: its marks stay where they are (moving them would mark the
            // others' earlier messages delivered or read); the answer is its status for the others.
            return (MessageStatus.ForSender(await store.GetMembersAsync(message.ChatId), userId, message.Seq), null);
        }
        await store.AdvanceWatermarkAsync(message.ChatId, userId, message.Seq, status == MessageStatus.Read, clock.NowMs());
        var updated = await store.GetMemberAsync(message.ChatId, userId);
        return (updated is null ? status : MessageStatus.ForMember(updated, message).Status, null);
    }

    public static string? ReadString(JsonElement frame, string name) =>
        frame.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
