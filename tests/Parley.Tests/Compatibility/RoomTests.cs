using System.Net;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Compatibility;

/// <summary>The phone-account backend's room routes: a room is a 1:1 chat, so everything else
/// (receipts, sync, WebSocket) works on it too.</summary>
public sealed class RoomTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    [Fact]
    public async Task A_room_is_created_once_listed_written_in_and_paged_over_the_room_routes()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var ben = await ApiClient.CreateUserAsync(Server, "Ben");
        await using var benSocket = await ben.ConnectAsync(Server);

        var created = await ann.Api.PostAsync("/chat/rooms", new { participants = new[] { ann.Id, ben.Id } });
        created.AssertStatus(HttpStatusCode.Created, "POST /chat/rooms");
        var roomId = created.Json.Str("roomId")!;
        Assert.Equal(ChatHelpers.DirectChatId(ann.Id, ben.Id), roomId);
        Assert.Equal(roomId, created.Json.Str("id"));
        Assert.Equal(ben.Id, Assert.Single(created.Json.GetProperty("participants").EnumerateArray()).Str("id"));

        // The other side asks for the same room, naming the ids in the other order: the same room.
        var again = await ben.Api.PostAsync("/chat/rooms", new { participants = new[] { ann.Id, ben.Id } });
        again.AssertStatus(HttpStatusCode.OK, "POST /chat/rooms again");
        Assert.Equal(roomId, again.Json.Str("roomId"));

        var sent = await ann.Api.PostAsync("/chat/messages", new { roomId, content = "hello Ben", clientMessageId = "r1" });
        sent.AssertStatus(HttpStatusCode.Created, "POST /chat/messages");
        Assert.Equal(roomId, sent.Json.Str("chatId"));
        Assert.Equal("hello Ben", sent.Json.Str("content"));
        await benSocket.WaitForMessageAsync(roomId, "hello Ben");
        // Retrying with the same clientMessageId stores nothing new.
        var retry = await ann.Api.PostAsync("/chat/messages", new { roomId, content = "hello Ben", clientMessageId = "r1" });
        Assert.Equal(sent.Json.Str("id"), retry.Json.Str("id"));
        await ben.Api.PostAsync("/chat/messages", new { roomId, content = "hi Ann" });
        await ben.Api.PostAsync("/chat/messages", new { roomId, content = "how are you?" });

        var rooms = await ben.Api.GetAsync("/chat/rooms");
        rooms.AssertStatus(HttpStatusCode.OK, "GET /chat/rooms");
        var room = Assert.Single(rooms.Json.EnumerateArray());
        Assert.Equal(roomId, room.Str("roomId"));
        Assert.Equal("how are you?", room.GetProperty("lastMessage").Str("content"));

        var first = await ann.Api.GetAsync($"/chat/messages?roomId={roomId}&limit=2");
        first.AssertStatus(HttpStatusCode.OK, "GET /chat/messages");
        Assert.Equal(["how are you?", "hi Ann"], first.Json.GetProperty("messages").EnumerateArray().Select(m => m.Field("content")).ToArray());
        var lastKey = first.Json.Str("lastKey")!;
        var second = await ann.Api.GetAsync($"/chat/messages?roomId={roomId}&limit=2&lastKey={Uri.EscapeDataString(lastKey)}");
        Assert.Equal(["hello Ben"], second.Json.GetProperty("messages").EnumerateArray().Select(m => m.Field("content")).ToArray());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, second.Json.GetProperty("lastKey").ValueKind);

        // Rooms are chats: the chat routes see the same messages.
        Assert.Equal(3, (await ben.HistoryAsync(roomId)).Count);
    }

    [Fact]
    public async Task A_room_of_others_is_not_found_and_the_caller_must_be_a_participant()
    {
        var ann = await ApiClient.CreateUserAsync(Server);
        var ben = await ApiClient.CreateUserAsync(Server);
        var eve = await ApiClient.CreateUserAsync(Server);
        var roomId = (await ann.Api.PostAsync("/chat/rooms", new { participants = new[] { ann.Id, ben.Id } })).Json.Str("roomId")!;
        await ann.Api.PostAsync("/chat/messages", new { roomId, content = "private" });

        var read = await eve.Api.GetAsync($"/chat/messages?roomId={roomId}");
        read.AssertStatus(HttpStatusCode.NotFound, "GET /chat/messages as a non-member");
        Assert.NotNull(read.Error);
        var write = await eve.Api.PostAsync("/chat/messages", new { roomId, content = "let me in" });
        write.AssertStatus(HttpStatusCode.NotFound, "POST /chat/messages as a non-member");
        Assert.Empty((await eve.Api.GetAsync("/chat/rooms")).Json.EnumerateArray());

        var notMine = await eve.Api.PostAsync("/chat/rooms", new { participants = new[] { ann.Id, ben.Id } });
        notMine.AssertStatus(HttpStatusCode.BadRequest, "POST /chat/rooms for two other users");
        Assert.NotNull(notMine.Error);
        (await eve.Api.PostAsync("/chat/rooms", new { })).AssertStatus(HttpStatusCode.BadRequest, "POST /chat/rooms without participants");
        (await eve.Api.GetAsync("/chat/messages")).AssertStatus(HttpStatusCode.BadRequest, "GET /chat/messages without roomId");
        (await eve.Api.PostAsync("/chat/messages", new { content = "x" })).AssertStatus(HttpStatusCode.BadRequest, "POST /chat/messages without roomId");
        Assert.Equal(HttpStatusCode.Unauthorized, (await Server.Api().GetAsync("/chat/rooms")).Status);
        Assert.Single(await ben.HistoryAsync(roomId));
    }
}
