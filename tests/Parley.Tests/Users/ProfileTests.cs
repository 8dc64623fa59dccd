using System.Net;
using System.Text.Json;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Users;

/// <summary>GET and PATCH /users/me: the profile shape, the initials avatar, updates and their validation.</summary>
public sealed class ProfileTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    [Fact]
    public async Task Me_answers_the_profile_with_exactly_the_contract_fields()
    {
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var user = await ApiClient.CreateUserAsync(Server, "John Doe");
        var after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        var me = await user.Api.GetAsync("/users/me");

        Assert.Equal(HttpStatusCode.OK, me.Status);
        var names = me.Json.EnumerateObject().Select(p => p.Name).Order().ToArray();
        Assert.Equal(new[] { "about", "avatar", "createdAt", "email", "id", "name", "phoneNumber", "photoUrl" }, names);
        Assert.Equal(user.Id, me.Json.GetProperty("id").GetString());
        Assert.Equal(user.Email, me.Json.GetProperty("email").GetString());
        Assert.Equal(JsonValueKind.Null, me.Json.GetProperty("phoneNumber").ValueKind);
        Assert.Equal("John Doe", me.Json.GetProperty("name").GetString());
        Assert.Equal("JD", me.Json.GetProperty("avatar").GetString());
        Assert.Equal(JsonValueKind.Null, me.Json.GetProperty("photoUrl").ValueKind);
        // Milliseconds since the epoch, taken when the account was made.
        var createdAt = me.Json.GetProperty("createdAt").GetInt64();
        Assert.InRange(createdAt, before - 5_000, after + 5_000);
    }

    [Theory]
    [InlineData("John Doe", "JD")]
    [InlineData("ada lovelace", "AL")]
    [InlineData("Cher", "C")]
    [InlineData("Mary Jane Watson", "MJ")]
    [InlineData("  Padded   Name  ", "PN")]
    [InlineData("élodie ünal", "ÉÜ")]
    public async Task The_avatar_defaults_to_the_initials_of_the_name(string name, string initials)
    {
        var user = await ApiClient.CreateUserAsync(Server, name);

        var me = await user.Api.GetAsync("/users/me");

        Assert.Equal(initials, me.Json.GetProperty("avatar").GetString());
    }

    [Fact]
    public async Task Registration_stores_the_name_trimmed()
    {
        var user = await ApiClient.CreateUserAsync(Server, "  Spacey Name ");

        var me = await user.Api.GetAsync("/users/me");

        Assert.Equal("Spacey Name", me.Json.GetProperty("name").GetString());
    }

    [Fact]
    public async Task Patch_me_updates_name_about_and_avatar_and_answers_the_profile()
    {
        var user = await ApiClient.CreateUserAsync(Server, "Old Name");

        var patched = await user.Api.PatchAsync("/users/me", new { name = "New Name", about = "Hey there! I am using Parley.", avatar = "🦊" });

        Assert.Equal(HttpStatusCode.OK, patched.Status);
        Assert.Equal(user.Id, patched.Json.GetProperty("id").GetString());
        Assert.Equal("New Name", patched.Json.GetProperty("name").GetString());
        Assert.Equal("Hey there! I am using Parley.", patched.Json.GetProperty("about").GetString());
        Assert.Equal("🦊", patched.Json.GetProperty("avatar").GetString());
        var me = await user.Api.GetAsync("/users/me");
        Assert.Equal(patched.Json.GetRawText(), me.Json.GetRawText());
    }

    [Fact]
    public async Task Patch_me_leaves_fields_it_does_not_name_unchanged()
    {
        var user = await ApiClient.CreateUserAsync(Server, "Keep Me");
        Assert.Equal(HttpStatusCode.OK, (await user.Api.PatchAsync("/users/me", new { about = "first about" })).Status);

        var patched = await user.Api.PatchAsync("/users/me", new { avatar = "KM" });

        Assert.Equal(HttpStatusCode.OK, patched.Status);
        Assert.Equal("Keep Me", patched.Json.GetProperty("name").GetString());
        Assert.Equal("first about", patched.Json.GetProperty("about").GetString());
        Assert.Equal("KM", patched.Json.GetProperty("avatar").GetString());
        Assert.Equal(user.Email, patched.Json.GetProperty("email").GetString());
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("{\"name\":null,\"about\":null,\"avatar\":null}")]
    [InlineData("{\"somethingElse\":\"ignored\"}")]
    public async Task Patch_me_with_nothing_to_change_answers_the_profile_unchanged(string body)
    {
        var user = await ApiClient.CreateUserAsync(Server, "Nothing Changes");
        Assert.Equal(HttpStatusCode.OK, (await user.Api.PatchAsync("/users/me", new { about = "kept" })).Status);
        var before = (await user.Api.GetAsync("/users/me")).Json.GetRawText();

        var patched = await user.Api.PatchAsync("/users/me", body);

        Assert.Equal(HttpStatusCode.OK, patched.Status);
        Assert.Equal(before, patched.Json.GetRawText());
    }

    [Fact]
    public async Task Patch_me_changes_only_the_callers_profile()
    {
        var alice = await ApiClient.CreateUserAsync(Server, "Alice Unchanged");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob Changes");

        Assert.Equal(HttpStatusCode.OK, (await bob.Api.PatchAsync("/users/me", new { name = "Bob Changed", about = "new" })).Status);

        var me = await alice.Api.GetAsync("/users/me");
        Assert.Equal("Alice Unchanged", me.Json.GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Null, me.Json.GetProperty("about").ValueKind);
    }

    [Fact]
    public async Task A_new_name_is_found_by_search()
    {
        var searcher = await ApiClient.CreateUserAsync(Server);
        var renamed = await ApiClient.CreateUserAsync(Server, "Before Rename");
        var tag = "Renamed" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(HttpStatusCode.OK, (await renamed.Api.PatchAsync("/users/me", new { name = tag + " Person" })).Status);

        var found = await searcher.Api.GetAsync("/users?search=" + tag.ToLowerInvariant());

        var item = Assert.Single(found.Json.EnumerateArray());
        Assert.Equal(renamed.Id, item.GetProperty("userId").GetString());
        Assert.Equal(tag + " Person", item.GetProperty("name").GetString());
    }

    public static TheoryData<string, string> BadPatches() => new()
    {
        { JsonSerializer.Serialize(new { name = "" }), "name" },
        { JsonSerializer.Serialize(new { name = "   " }), "name" },
        { JsonSerializer.Serialize(new { name = new string('n', 65) }), "name" },
        { JsonSerializer.Serialize(new { name = Texts.Repeat(Texts.Emoji, 65) }), "name" },
        { JsonSerializer.Serialize(new { name = "Line\nBreak" }), "name" },
        { JsonSerializer.Serialize(new { name = "\u200b" }), "name" },
        { JsonSerializer.Serialize(new { name = " \u200b\u2060 " }), "name" },
        { JsonSerializer.Serialize(new { name = "Bob\u202Enimda" }), "name" },
        { JsonSerializer.Serialize(new { name = "Bob\u2067Ann" }), "name" },
        { JsonSerializer.Serialize(new { about = new string('a', 257) }), "about" },
        { JsonSerializer.Serialize(new { about = Texts.Repeat(Texts.Emoji, 257) }), "about" },
        { JsonSerializer.Serialize(new { about = "bell\u0007" }), "about" },
        { JsonSerializer.Serialize(new { avatar = new string('v', 513) }), "avatar" },
        { JsonSerializer.Serialize(new { avatar = "nul\u0000" }), "avatar" },
    };

    [Theory]
    [MemberData(nameof(BadPatches))]
    public async Task Patch_me_refuses_a_bad_field_with_400_and_changes_nothing(string body, string field)
    {
        var user = await ApiClient.CreateUserAsync(Server, "Stable Name");
        var before = (await user.Api.GetAsync("/users/me")).Json.GetRawText();

        var response = await user.Api.PatchAsync("/users/me", body);

        Assert.Contains(field, response.AssertError(HttpStatusCode.BadRequest));
        Assert.Equal(before, (await user.Api.GetAsync("/users/me")).Json.GetRawText());
    }

    [Fact]
    public async Task Patch_me_accepts_the_longest_allowed_values()
    {
        var user = await ApiClient.CreateUserAsync(Server);

        var response = await user.Api.PatchAsync("/users/me", new { name = new string('n', 64), about = new string('a', 256), avatar = "AB12" });

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal(64, response.Json.GetProperty("name").GetString()!.Length);
        Assert.Equal(256, response.Json.GetProperty("about").GetString()!.Length);
        Assert.Equal("AB12", response.Json.GetProperty("avatar").GetString());

        // Characters, not UTF-16 units: an emoji counts as one.
        var emoji = await user.Api.PatchAsync("/users/me", new { name = Texts.Repeat(Texts.Emoji, 64), about = Texts.Repeat(Texts.Emoji, 256) });
        emoji.AssertStatus(HttpStatusCode.OK, "PATCH /users/me with 64 and 256 emoji");
        Assert.Equal(Texts.Repeat(Texts.Emoji, 64), emoji.Json.Str("name"));
        Assert.Equal(Texts.Repeat(Texts.Emoji, 256), emoji.Json.Str("about"));
    }

    [Fact]
    public async Task Me_without_a_token_is_401()
    {
        using var api = Server.Api();
        (await api.GetAsync("/users/me")).AssertError(HttpStatusCode.Unauthorized);
        (await api.PatchAsync("/users/me", new { name = "Nobody" })).AssertError(HttpStatusCode.Unauthorized);
    }
}
