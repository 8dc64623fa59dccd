using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Users;

/// <summary>GET /users: search by name or email, the caller left out, pages chained by a
/// <c>Link: &lt;...&gt;; rel="next"</c> header. Each test searches for a tag of its own, so tests
/// share one server without seeing each other's users.</summary>
public sealed partial class UserDirectoryTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    private static string NewTag() => "Tag" + Guid.NewGuid().ToString("N")[..10];

    [GeneratedRegex("<([^>]+)>\\s*;\\s*rel=\"next\"")]
    private static partial Regex NextLink();

    private static string? NextPage(ApiClient.Response response)
    {
        if (!response.Raw.Headers.TryGetValues("Link", out var values)) return null;
        var match = NextLink().Match(string.Join(",", values));
        return match.Success ? match.Groups[1].Value : null;
    }

    private static List<string> Ids(ApiClient.Response response) =>
        response.Json.EnumerateArray().Select(u => u.GetProperty("userId").GetString()!).ToList();

    [Fact]
    public async Task Users_answers_the_contract_fields_for_each_user()
    {
        var tag = NewTag();
        var caller = await ApiClient.CreateUserAsync(Server);
        var other = await ApiClient.CreateUserAsync(Server, tag + " Doe");

        var response = await caller.Api.GetAsync("/users?search=" + tag);

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var item = Assert.Single(response.Json.EnumerateArray());
        Assert.Equal(new[] { "about", "avatar", "blocked", "email", "lastSeen", "name", "online", "photoUrl", "userId" }, item.EnumerateObject().Select(p => p.Name).Order().ToArray());
        Assert.Equal(other.Id, item.GetProperty("userId").GetString());
        Assert.Equal(tag + " Doe", item.GetProperty("name").GetString());
        Assert.Equal(other.Email, item.GetProperty("email").GetString());
        Assert.Equal(tag[..1].ToUpperInvariant() + "D", item.GetProperty("avatar").GetString());
        Assert.False(item.GetProperty("online").GetBoolean());
        Assert.Equal(JsonValueKind.Number, item.GetProperty("lastSeen").ValueKind);
    }

    [Fact]
    public async Task Users_leaves_out_the_caller()
    {
        var tag = NewTag();
        var caller = await ApiClient.CreateUserAsync(Server, tag + " Caller");
        var first = await ApiClient.CreateUserAsync(Server, tag + " First");
        var second = await ApiClient.CreateUserAsync(Server, tag + " Second");

        var response = await caller.Api.GetAsync("/users?search=" + tag);

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var ids = Ids(response);
        Assert.DoesNotContain(caller.Id, ids);
        Assert.Equal(new[] { first.Id, second.Id }.Order(), ids.Order());
    }

    [Fact]
    public async Task Users_without_a_search_lists_everyone_but_the_caller()
    {
        await using var server = await ParleyServer.StartAsync();
        var caller = await ApiClient.CreateUserAsync(server, "Only Caller");
        var a = await ApiClient.CreateUserAsync(server, "Anne A");
        var b = await ApiClient.CreateUserAsync(server, "Bert B");

        var response = await caller.Api.GetAsync("/users");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal(new[] { a.Id, b.Id }.Order(), Ids(response).Order());
        Assert.Null(NextPage(response));
    }

    [Fact]
    public async Task Users_searches_names_case_insensitively()
    {
        var tag = NewTag();
        var caller = await ApiClient.CreateUserAsync(Server);
        var zebulon = await ApiClient.CreateUserAsync(Server, "Zebulon " + tag);
        await ApiClient.CreateUserAsync(Server, "Someone " + tag);

        foreach (var search in new[] { "zebulon " + tag.ToLowerInvariant(), "ZEBULON " + tag.ToUpperInvariant(), "bulon " + tag })
        {
            var response = await caller.Api.GetAsync("/users?search=" + Uri.EscapeDataString(search));
            Assert.Equal(HttpStatusCode.OK, response.Status);
            Assert.Equal(new[] { zebulon.Id }, Ids(response));
        }
    }

    [Fact]
    public async Task Users_searches_emails_case_insensitively()
    {
        var caller = await ApiClient.CreateUserAsync(Server);
        var target = await ApiClient.CreateUserAsync(Server, "Plain Name");
        var local = target.Email[..target.Email.IndexOf('@')];

        foreach (var search in new[] { local, local.ToUpperInvariant(), target.Email.ToUpperInvariant() })
        {
            var response = await caller.Api.GetAsync("/users?search=" + Uri.EscapeDataString(search));
            Assert.Equal(HttpStatusCode.OK, response.Status);
            Assert.Equal(new[] { target.Id }, Ids(response));
        }
    }

    [Fact]
    public async Task Users_search_treats_like_wildcards_literally()
    {
        var tag = NewTag();
        var caller = await ApiClient.CreateUserAsync(Server);
        var percent = await ApiClient.CreateUserAsync(Server, tag + " 100% Sure");
        await ApiClient.CreateUserAsync(Server, tag + " 1000 Sure");

        var byPercent = await caller.Api.GetAsync("/users?search=" + Uri.EscapeDataString(tag + " 100%"));
        var byUnderscore = await caller.Api.GetAsync("/users?search=" + Uri.EscapeDataString(tag + " 10_0"));

        Assert.Equal(new[] { percent.Id }, Ids(byPercent));
        Assert.Empty(Ids(byUnderscore));
    }

    [Fact]
    public async Task Users_search_with_no_match_answers_an_empty_list()
    {
        var caller = await ApiClient.CreateUserAsync(Server);

        var response = await caller.Api.GetAsync("/users?search=" + NewTag());

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal(JsonValueKind.Array, response.Json.ValueKind);
        Assert.Empty(Ids(response));
        Assert.Null(NextPage(response));
    }

    [Theory]
    [InlineData(3, 7)]  // pages of 3, 3, 1
    [InlineData(3, 6)]  // pages of 3, 3, and a last empty one
    [InlineData(1, 4)]
    [InlineData(100, 5)]
    public async Task Users_pages_through_every_match_via_the_Link_header_without_duplicates(int limit, int matches)
    {
        var tag = NewTag();
        var caller = await ApiClient.CreateUserAsync(Server, tag + " Caller");
        var expected = new List<string>();
        for (var i = 0; i < matches; i++)
        {
            // Half of them share one name, so the page order must break ties.
            var name = i % 2 == 0 ? tag + " Same Name" : $"{tag} Person {i}";
            expected.Add((await ApiClient.CreateUserAsync(Server, name)).Id);
        }

        var seen = new List<string>();
        string? next = $"/users?search={tag}&limit={limit}";
        var pages = 0;
        while (next is not null)
        {
            Assert.True(++pages <= matches + 2, "the Link header never ends");
            var response = await caller.Api.GetAsync(next);
            Assert.Equal(HttpStatusCode.OK, response.Status);
            var ids = Ids(response);
            Assert.True(ids.Count <= limit, $"page of {ids.Count} with limit {limit}");
            seen.AddRange(ids);
            next = NextPage(response);
            if (ids.Count < limit) Assert.Null(next);
        }

        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Equal(expected.Order(), seen.Order());
    }

    [Fact]
    public async Task Users_answers_at_most_20_by_default()
    {
        var tag = NewTag();
        var caller = await ApiClient.CreateUserAsync(Server);
        for (var i = 0; i < 21; i++) await ApiClient.CreateUserAsync(Server, $"{tag} {i:D2}");

        var response = await caller.Api.GetAsync("/users?search=" + tag);

        Assert.Equal(20, Ids(response).Count);
        var next = NextPage(response);
        Assert.NotNull(next);
        var rest = await caller.Api.GetAsync(next);
        Assert.Single(Ids(rest));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("101")]
    [InlineData("abc")]
    [InlineData("1.5")]
    public async Task Users_refuses_a_bad_limit_with_400(string limit)
    {
        var caller = await ApiClient.CreateUserAsync(Server);

        var response = await caller.Api.GetAsync("/users?limit=" + Uri.EscapeDataString(limit));

        Assert.Contains("limit", response.AssertError(HttpStatusCode.BadRequest));
    }

    [Theory]
    [InlineData("!!!")]
    [InlineData("bm8tbmV3bGluZQ")] // "no-newline": decodes, but is not a cursor
    public async Task Users_refuses_a_bad_page_cursor_with_400(string after)
    {
        var caller = await ApiClient.CreateUserAsync(Server);

        var response = await caller.Api.GetAsync("/users?after=" + Uri.EscapeDataString(after));

        response.AssertError(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Users_refuses_an_overlong_search_with_400()
    {
        var caller = await ApiClient.CreateUserAsync(Server);

        var response = await caller.Api.GetAsync("/users?search=" + new string('s', 300));

        Assert.Contains("search", response.AssertError(HttpStatusCode.BadRequest));
    }

    [Fact]
    public async Task Users_without_a_token_is_401()
    {
        using var api = Server.Api();

        (await api.GetAsync("/users")).AssertError(HttpStatusCode.Unauthorized);
    }
}
