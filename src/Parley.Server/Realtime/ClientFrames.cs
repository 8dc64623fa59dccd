using System.Net.WebSockets;
using System.Text.Json;
using Parley.Server.Common;
using Parley.Server.Messages;
using Parley.Server.Storage;

namespace Parley.Server.Realtime;

/// <summary>The WebSocket protocol: what each client frame (<c>{"action": ...}</c>) means. Routing
/// by action mirrors an API Gateway WebSocket API. The sender is always the connection's user; a
/// <c>senderId</c> in a frame is ignored.</summary>
public sealed partial class ClientFrames(MessageService messages, IChatStore store, TypingTracker typing, LocalFanOut fanOut,
    Users.BlockCache blocks, ILogger<ClientFrames> logger)
{
    /// <summary>Rejected sends in a row after which a connection that keeps flooding is closed.</summary>
    private const int MaxRejectedSendsInARow = 20;

    public async Task HandleAsync(Connection connection, ReadOnlyMemory<byte> payload, ConnectionState state)
    {
        // The document reads the received frame in place, and lives until the frame is handled:
        // every handler takes what it needs from it before this returns, and the frame's buffer
        // goes back to its pool only after that.
        using var document = ParseOrNull(payload, out var duplicate);
        if (document is null)
        {
            await Reply(connection, Frames.Error(duplicate
                ? "The frame names a member more than once; each member may appear once."
                : "The frame is not valid JSON.", "bad_request"));
            return;
        }
        // Checked before anything reads a name or a string of the frame: such a read would throw.
        if (!JsonUnicode.IsValid(payload.Span))
        {
            // A client with several sends in flight must learn which one this was, when its id can tell.
            await Reply(connection, Frames.Error("The frame has text that is not valid Unicode (a lone surrogate such as \\ud800).", "bad_request",
                JsonUnicode.ValidTopLevelString(payload.Span, "clientMessageId"u8)));
            return;
        }
        var frame = document.RootElement;
        if (frame.ValueKind != JsonValueKind.Object)
        {
            await Reply(connection, Frames.Error("A frame must be a JSON object with an action.", "bad_request"));
            return;
        }
        switch (MessageService.ReadString(frame, "action"))
        {
            case "sendMessage":
                await SendMessageAsync(connection, frame, state);
                break;
            case "typing":
                await TypingAsync(connection, frame);
                break;
            case "updateStatus":
                await UpdateStatusAsync(connection, frame);
                break;
            case "markRead":
                await MarkReadAsync(connection, frame);
                break;
            case "ping":
                await Reply(connection, Frames.Pong);
                break;
            case null:
                await Reply(connection, Frames.Error("The frame has no action.", "bad_request"));
                break;
            case var other:
                await Reply(connection, Frames.Error($"Unknown action '{TextLength.Shorten(other, 40)}'.", "unknown_action"));
                break;
        }
    }

    private async Task SendMessageAsync(Connection connection, JsonElement frame, ConnectionState state)
    {
        var clientMessageId = OptionalString(frame, "clientMessageId", out var badField);
        // roomId: the phone-account backend's name for a chat id.
        var chatId = OptionalString(frame, "chatId", out var badChat);
        var roomId = OptionalString(frame, "roomId", out var badRoom);
        badChat ??= badRoom;
        string? mediaId = null, fileName = null, badMedia = null;
        if (frame.TryGetProperty("media", out var media) && media.ValueKind != JsonValueKind.Null)
        {
            if (media.ValueKind != JsonValueKind.Object) badMedia = "media";
            else
            {
                mediaId = OptionalString(media, "mediaId", out badMedia);
                fileName = OptionalString(media, "fileName", out var badFileName);
                badMedia ??= badFileName;
            }
        }
        var command = new SendCommand(
            chatId ?? roomId,
            OptionalString(frame, "recipientId", out var badRecipient),
            OptionalString(frame, "content", out var badContent),
            clientMessageId,
            OptionalString(frame, "type", out var badType),
            OptionalString(frame, "replyTo", out var badReply))
        {
            MediaId = mediaId,
            FileName = fileName,
        };
        var wrongType = badField ?? badChat ?? badRecipient ?? badContent ?? badType ?? badReply ?? badMedia;
        if (wrongType is not null)
        {
            var expected = wrongType == "media" ? "an object {mediaId, fileName?}" : "a string";
            await Reply(connection, Frames.Error($"{wrongType} must be {expected}.", "bad_request", clientMessageId));
            return;
        }
        PendingSend pending;
        try
        {
            pending = await messages.BeginSendAsync(connection.UserId, command, connection.Id);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await Reply(connection, SendFailedFrame(ex, connection.Id, clientMessageId));
            return;
        }
        // The next frame is read while this send commits; its ack still comes before the next one's.
        await connection.ReplyWhenReadyAsync(AnswerSendAsync(connection, pending, clientMessageId, state));
    }

    private async Task<byte[]?> AnswerSendAsync(Connection connection, PendingSend pending, string? clientMessageId, ConnectionState state)
    {
        SendResult? result;
        Refusal? refusal;
        try
        {
            (result, refusal) = await pending.Completion;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A client with several sends in flight must learn which one failed.
            return SendFailedFrame(ex, connection.Id, clientMessageId);
        }
        if (refusal is not null)
        {
            if (refusal == Refusal.RateLimited && state.SendRefused() >= MaxRejectedSendsInARow)
            {
                connection.Close(WebSocketCloseStatus.PolicyViolation, "Message rate limit exceeded");
            }
            return Frames.Error(refusal.Message, refusal.Code, clientMessageId);
        }
        state.SendStored();
        return Frames.Ack(result!.Message!, clientMessageId);
    }

    private async Task TypingAsync(Connection connection, JsonElement frame)
    {
        var chatId = RequiredString(frame, "chatId", out var problem);
        // Absent (or null) isTyping means typing; anything but a boolean is refused, as "false" or 0
        // would otherwise announce the opposite of what the client meant.
        var isTyping = true;
        if (problem is null && frame.TryGetProperty("isTyping", out var value) && value.ValueKind != JsonValueKind.Null)
        {
            if (value.ValueKind is JsonValueKind.True or JsonValueKind.False) isTyping = value.GetBoolean();
            else problem = "isTyping must be true or false.";
        }
        if (problem is not null)
        {
            await Reply(connection, Frames.Error(problem, "bad_request"));
            return;
        }
        chatId = Chats.ChatIds.Canonical(chatId!);
        if (typing.IsRepeat(chatId, connection.UserId, isTyping))
        {
            // Announced less than a second ago: this only keeps the signal alive.
            typing.Set(chatId, connection.UserId, isTyping);
            return;
        }
        var members = await store.GetMembersAsync(chatId);
        if (!members.Any(m => m.UserId == connection.UserId))
        {
            await Reply(connection, Frames.Error(Refusal.ChatNotFound.Message, Refusal.ChatNotFound.Code));
            return;
        }
        typing.Set(chatId, connection.UserId, isTyping);
        if (!typing.TryAnnounce(chatId, connection.UserId, isTyping)) return;
        await AnnounceTypingAsync(fanOut, blocks, members, chatId, connection.UserId, isTyping);
    }

    /// <summary>Tells the other members, except those the typist blocked or who blocked the typist
    /// (a blocker is not shown someone typing who may not send to them), on every node.</summary>
    internal static async Task AnnounceTypingAsync(LocalFanOut fanOut, Users.BlockCache blocks, IReadOnlyList<MemberRecord> members,
        string chatId, string userId, bool isTyping)
    {
        var list = await blocks.GetAsync(userId);
        fanOut.Broadcast(members.Where(m => m.UserId != userId && !list.EitherWay(m.UserId)).Select(m => m.UserId),
            Frames.Typing(chatId, userId, isTyping));
    }

    private async Task UpdateStatusAsync(Connection connection, JsonElement frame)
    {
        var messageId = RequiredString(frame, "messageId", out var problem);
        if (problem is not null)
        {
            await Reply(connection, Frames.Error(problem, "bad_request"));
            return;
        }
        var (_, refusal) = await messages.UpdateStatusAsync(connection.UserId, messageId!, OptionalString(frame, "status", out _));
        if (refusal is not null) await Reply(connection, Frames.Error(refusal.Message, refusal.Code));
    }

    private async Task MarkReadAsync(Connection connection, JsonElement frame)
    {
        var chatId = RequiredString(frame, "chatId", out var problem);
        // A messageId that is not a string is refused, as on REST, rather than read as absent,
        // which would mark the whole chat read.
        var messageId = OptionalString(frame, "messageId", out var wrongType);
        problem ??= wrongType is null ? null : MustBeAString(wrongType);
        if (problem is not null)
        {
            await Reply(connection, Frames.Error(problem, "bad_request"));
            return;
        }
        var refusal = await messages.MarkReadAsync(connection.UserId, chatId!, messageId);
        if (refusal is not null) await Reply(connection, Frames.Error(refusal.Message, refusal.Code));
    }

    private static ValueTask Reply(Connection connection, byte[] frame) => connection.ReplyAsync(frame);

    /// <summary>Duplicate members are refused: which copy counts differs between parsers (a proxy or
    /// gateway may read the first while this server would read the last), so a frame such as
    /// <c>{"action":"sendMessage","action":"ping"}</c> or two <c>content</c>s has no single meaning.</summary>
    private static readonly JsonDocumentOptions FrameOptions = new() { AllowDuplicateProperties = false };

    /// <summary>The parsed frame, or null when it is not JSON or (<paramref name="duplicate"/>) names a member twice.</summary>
    private static JsonDocument? ParseOrNull(ReadOnlyMemory<byte> payload, out bool duplicate)
    {
        duplicate = false;
        try
        {
            return JsonDocument.Parse(payload, FrameOptions);
        }
        catch (JsonException)
        {
            // Only a refused frame pays for the second look that tells the client why.
            duplicate = IsJson(payload);
            return null;
        }
        catch (InvalidOperationException)
        {
            // A member name that is not valid Unicode cannot be compared with the others: without
            // the duplicate check, the Unicode check that follows refuses the frame for what it is.
            return JsonDocument.Parse(payload);
        }
    }

    private static bool IsJson(ReadOnlyMemory<byte> payload)
    {
        try
        {
            using var _ = JsonDocument.Parse(payload);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>A string member, or null when absent; <paramref name="wrongType"/> names it when present but not a string.</summary>
    private static string? OptionalString(JsonElement frame, string name, out string? wrongType)
    {
        wrongType = null;
        if (!frame.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind == JsonValueKind.String) return value.GetString();
        wrongType = name;
        return null;
    }

    /// <summary>A string member that must be present; otherwise <paramref name="problem"/> is the
    /// sentence for the client: it is missing, or it is not a string.</summary>
    private static string? RequiredString(JsonElement frame, string name, out string? problem)
    {
        var value = OptionalString(frame, name, out var wrongType);
        problem = wrongType is not null ? MustBeAString(wrongType) : value is null ? $"{name} is required." : null;
        return value;
    }

    private static string MustBeAString(string name) => $"{name} must be a string.";

    [LoggerMessage(EventId = 3004, Level = LogLevel.Error, Message = "A send on socket {ConnectionId} failed")]
    private static partial void SendFailed(ILogger logger, Exception ex, string connectionId);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Warning, Message = "A send on socket {ConnectionId} failed: the store is not answering ({Failure}: {Reason})")]
    private static partial void SendFailedStoreNotAnswering(ILogger logger, string connectionId, string failure, string reason);

    /// <summary>The error frame for a send that failed, logged: a store that is not answering is
    /// <c>unavailable</c> and one log line, anything else <c>internal_error</c> with the whole exception.
    /// Either way the client sends it again, with the same <c>clientMessageId</c>.</summary>
    private byte[] SendFailedFrame(Exception ex, string connectionId, string? clientMessageId)
    {
        if (Storage.StoreUnavailable.Describe(ex) is { } outage)
        {
            SendFailedStoreNotAnswering(logger, connectionId, outage.Failure, outage.Reason);
            return Frames.Error("The server's store is not answering at the moment; send this message again shortly.", "unavailable", clientMessageId);
        }
        SendFailed(logger, ex, connectionId);
        return Frames.Error("The server could not store this message; send it again.", "internal_error", clientMessageId);
    }
}

/// <summary>Per-connection protocol state.</summary>
public sealed class ConnectionState
{
    private int _rejectedSendsInARow;

    /// <summary>Counts a rate-limited send; returns how many came in a row. Sends finish on the
    /// store's threads while the reader goes on, hence the atomic counter.</summary>
    public int SendRefused() => Interlocked.Increment(ref _rejectedSendsInARow);

    public void SendStored() => Volatile.Write(ref _rejectedSendsInARow, 0);

    /// <summary>Frames refused by the frame limit in a row; the connection is closed past a few.</summary>
    public int RejectedFramesInARow { get; set; }
}
