using System.Net;
using System.Text.Json;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Groups;

public sealed class GroupLifecycleTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    [Fact]
    public async Task Creating_a_group_makes_the_creator_its_admin_and_posts_group_created()
    {
        var alice = await ApiClient.CreateUserAsync(Server, "Alice");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var carol = await ApiClient.CreateUserAsync(Server, "Carol");
        await using var bobSocket = await bob.ConnectAsync(Server);

        var response = await alice.Api.PostAsync("/groups", new { name = "Hikers", description = "Weekend trips", memberIds = new[] { bob.Id, carol.Id } });
        response.AssertStatus(HttpStatusCode.Created, "POST /groups");
        var group = response.Json;
        var groupId = group.Str("id")!;
        Assert.StartsWith("group_", groupId);
        Assert.True(group.Bool("isGroup"));
        Assert.Equal("Hikers", group.Str("groupName"));
        Assert.Equal("Weekend trips", group.Str("groupDescription"));
        Assert.Equal(new[] { alice.Id, bob.Id, carol.Id }.Order(StringComparer.Ordinal), group.Strings("members").Order(StringComparer.Ordinal));
        Assert.Equal([alice.Id], group.Strings("admins"));
        // participants are the other members; members every id.
        Assert.Equal(new[] { bob.Id, carol.Id }.Order(StringComparer.Ordinal),
            group.GetProperty("participants").EnumerateArray().Select(p => p.Str("id")!).Order(StringComparer.Ordinal));

        // Members learn about the new chat live.
        var chatFrame = await bobSocket.WaitForAsync(f => f.Type == "chat" && f.Str("id") == groupId, what: "the chat frame for the new group");
        Assert.Equal("Hikers", chatFrame.Str("groupName"));
        Assert.NotNull(chatFrame.Cursor);

        var history = await carol.HistoryAsync(groupId);
        var created = Assert.Single(history);
        Assert.Equal("system", created.Str("type"));
        Assert.Equal("group_created", created.Str("systemAction"));
        Assert.Equal("Alice", created.Str("senderName"));
        Assert.Equal("Alice created the group “Hikers”", created.Str("content"));
        Assert.Equal("Hikers", created.Str("groupName"));
        Assert.Equal(1, created.Long("seq"));

        // Every member has it in the chat list; the summary agrees for everyone.
        foreach (var member in new[] { alice, bob, carol })
        {
            var summary = (await member.ChatListAsync()).Single(c => c.Str("id") == groupId);
            Assert.Equal("Hikers", summary.Str("groupName"));
            Assert.Equal([alice.Id], summary.Strings("admins"));
        }
    }

    [Fact]
    public async Task A_group_needs_a_name()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var response = await alice.Api.PostAsync("/groups", new { memberIds = new[] { bob.Id } });
        response.AssertStatus(HttpStatusCode.BadRequest, "POST /groups without a name");
        Assert.NotNull(response.Error);
        var blank = await alice.Api.PostAsync("/groups", new { name = "  ", memberIds = new[] { bob.Id } });
        blank.AssertStatus(HttpStatusCode.BadRequest, "POST /groups with a blank name");
        Assert.Empty(await alice.ChatListAsync());
    }

    [Fact]
    public async Task A_group_with_an_unknown_member_is_refused_and_not_created()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var response = await alice.Api.PostAsync("/groups", new { name = "Ghosts", memberIds = new[] { bob.Id, Guid.NewGuid().ToString() } });
        Assert.True(response.Status is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"got {(int)response.Status} {response.Json}");
        Assert.Empty(await alice.ChatListAsync());
        Assert.Empty(await bob.ChatListAsync());
    }

    [Fact]
    public async Task An_unknown_member_id_is_named_in_the_error_shortened_when_long()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var longId = new string('x', 5000);
        var response = await alice.Api.PostAsync("/groups", new { name = "Ghosts", memberIds = new[] { longId } });
        var error = response.AssertError(HttpStatusCode.BadRequest);
        Assert.Contains("Unknown user id in memberIds: " + new string('x', 64) + "…", error);
        Assert.True(error.Length < 200, $"the sentence quotes the whole id back: {error.Length} characters");
    }

    [Fact]
    public async Task Renaming_a_group_posts_group_renamed_with_the_new_name_and_tells_the_members()
    {
        var alice = await ApiClient.CreateUserAsync(Server, "Alice");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var groupId = await alice.CreateGroupAsync("Old name", bob);
        await using var bobSocket = await bob.ConnectAsync(Server);

        var renamed = await alice.Api.PutAsync($"/groups/{groupId}/info", new { name = "New name" });
        renamed.AssertStatus(HttpStatusCode.OK, "PUT info");
        Assert.True(renamed.Json.Bool("success"));

        var message = await bobSocket.WaitForAsync(f => f.Type == "message" && f.Str("chatId") == groupId, what: "the group_renamed message");
        Assert.Equal("system", message.Str("type"));
        Assert.Equal("group_renamed", message.Str("systemAction"));
        Assert.Equal("Alice renamed the group to “New name”", message.Str("content"));
        Assert.Equal("New name", message.Str("groupName"));
        Assert.Equal("Alice", message.Str("senderName"));
        var chat = await bobSocket.WaitForAsync(f => f.Type == "chat" && f.Str("id") == groupId, what: "the chat frame after the rename");
        Assert.Equal("New name", chat.Str("groupName"));

        Assert.Equal("New name", (await bob.ChatAsync(groupId)).Str("groupName"));
        var history = await bob.MessagesOldestFirstAsync(groupId);
        Assert.Equal(["group_created", "group_renamed"], history.Select(m => m.Field("systemAction")).ToArray());
        Assert.Equal(2, history[1].Long("seq"));
    }

    [Fact]
    public async Task Changing_only_the_description_posts_no_rename_message()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var groupId = await alice.CreateGroupAsync("Same name", bob);

        (await alice.Api.PutAsync($"/groups/{groupId}/info", new { description = "Now with a description" }))
            .AssertStatus(HttpStatusCode.OK, "PUT description");
        var summary = await bob.ChatAsync(groupId);
        Assert.Equal("Same name", summary.Str("groupName"));
        Assert.Equal("Now with a description", summary.Str("groupDescription"));
        Assert.DoesNotContain(await bob.HistoryAsync(groupId), m => m.Str("systemAction") == "group_renamed");
    }

    [Fact]
    public async Task Only_admins_rename_a_group()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var groupId = await alice.CreateGroupAsync("Alice's group", bob);
        var response = await bob.Api.PutAsync($"/groups/{groupId}/info", new { name = "Bob's group" });
        response.AssertStatus(HttpStatusCode.Forbidden, "PUT info as a member");
        Assert.Equal("Alice's group", (await alice.ChatAsync(groupId)).Str("groupName"));
    }

    [Fact]
    public async Task Members_write_in_a_group_and_everyone_reads_the_same_order()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var carol = await ApiClient.CreateUserAsync(Server);
        var groupId = await alice.CreateGroupAsync("Trio", bob, carol);
        await alice.SendTextAsync(groupId, "a");
        await bob.SendTextAsync(groupId, "b");
        await carol.SendTextAsync(groupId, "c");

        var expected = new[] { "group_created", "a", "b", "c" };
        foreach (var member in new[] { alice, bob, carol })
        {
            var history = await member.MessagesOldestFirstAsync(groupId);
            Assert.Equal(expected, history.Select(m => m.Str("systemAction") ?? m.Str("content")).ToArray());
            Assert.Equal([1L, 2, 3, 4], history.Select(m => m.Long("seq")).ToArray());
        }
        var list = (await carol.ChatListAsync()).Single(c => c.Str("id") == groupId);
        Assert.Equal("c", list.GetProperty("lastMessage").Str("content"));
        Assert.NotEqual(JsonValueKind.Null, list.GetProperty("lastMessage").ValueKind);
    }

    [Theory]
    [InlineData("\u200b", "name must have at least one visible character.")]
    [InlineData("Team\u202Eeton", "name must not contain characters that reverse or isolate the direction of text.")]
    public async Task A_group_name_that_shows_nothing_or_reverses_text_is_refused_on_create_and_rename(string name, string sentence)
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        Assert.Equal(sentence, (await alice.Api.PostAsync("/groups", new { name, memberIds = new[] { bob.Id } })).AssertError(HttpStatusCode.BadRequest));
        var groupId = await alice.CreateGroupAsync("Family \U0001F468\u200D\U0001F469\u200D\U0001F467", bob);
        Assert.Equal(sentence, (await alice.Api.PutAsync($"/groups/{groupId}/info", new { name })).AssertError(HttpStatusCode.BadRequest));
        Assert.Equal("Family \U0001F468\u200D\U0001F469\u200D\U0001F467", (await bob.ChatAsync(groupId)).Str("groupName"));
    }

    [Theory]
    [InlineData("x")]
    [InlineData(Texts.Emoji)]
    public async Task A_group_name_of_100_characters_is_taken_and_one_more_is_refused(string character)
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);

        var tooLong = await alice.Api.PostAsync("/groups", new { name = Texts.Repeat(character, 101), memberIds = new[] { bob.Id } });
        Assert.Equal("name must be at most 100 characters.", tooLong.AssertError(HttpStatusCode.BadRequest));

        var longest = Texts.Repeat(character, 100);
        var groupId = await alice.CreateGroupAsync(longest, bob);
        Assert.Equal(longest, (await bob.ChatAsync(groupId)).Str("groupName"));
        var rename = await alice.Api.PutAsync($"/groups/{groupId}/info", new { name = Texts.Repeat(character, 101) });
        Assert.Equal("name must be at most 100 characters.", rename.AssertError(HttpStatusCode.BadRequest));
        var renamed = Texts.Repeat(character, 99) + "!";
        (await alice.Api.PutAsync($"/groups/{groupId}/info", new { name = renamed })).AssertStatus(HttpStatusCode.OK, "PUT /groups/{id}/info with 100 characters");
        Assert.Equal(renamed, (await bob.ChatAsync(groupId)).Str("groupName"));
    }
}
