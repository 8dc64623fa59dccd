using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Blobs;
using Parley.Server.Configuration;
using Parley.Server.Storage;
using Parley.Server.Storage.DynamoDb;
using Parley.Testing;

namespace Parley.Tests.Storage;

/// <summary>
/// What the DynamoDB store does with single-item conditional writes where the SQL stores have
/// transactions: sessions, two-step verification, tickets, push, blocks, media access and address
/// claims, each on tables of its own in dynalite. Some tests write the items a failed or concurrent
/// operation would leave, to see the store read them right.
/// </summary>
public sealed class DynamoAccountStoreTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "parley-tests", Guid.NewGuid().ToString("N"));
    private ServiceProvider? _services;
    private IParleyStore _store = null!;
    private DynamoDatabase _db = null!;

    public async Task InitializeAsync()
    {
        if (TestDynamo.SkipReason is not null) return;
        var settings = TestDynamo.Settings(TestDynamo.NewPrefix());
        settings["Parley:DataDirectory"] = _directory;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var options = configuration.GetSection(ParleyOptions.Section).Get<ParleyOptions>()!;
        var services = new ServiceCollection();
        services.AddLogging();
        services.Configure<ParleyOptions>(configuration.GetSection(ParleyOptions.Section));
        services.AddSingleton(TimeProvider.System);
        services.AddParleyBlobs(options);
        services.AddParleyStorage(options);
        _services = services.BuildServiceProvider();
        _store = _services.GetRequiredService<IParleyStore>();
        _db = _services.GetRequiredService<DynamoDatabase>();
        await _store.InitializeAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        if (_services is not null) await _services.DisposeAsync();
        try { Directory.Delete(_directory, recursive: true); } catch (DirectoryNotFoundException) { /* never made */ }
    }

    private async Task<UserRecord> UserAsync(string? email = null, string? phone = null)
    {
        var id = Guid.NewGuid().ToString();
        var user = new UserRecord(id, email ?? $"{id[..8]}@example.com", phone, "User " + id[..4], null, "U", null, "hash", true, 1, 0);
        Assert.True(await _store.CreateUserAsync(user));
        return user;
    }

    [DynamoFact]
    public async Task A_totp_step_is_accepted_once_and_never_an_earlier_one()
    {
        var user = await UserAsync();
        Assert.True(await _store.BeginMfaAsync(user.Id, [1, 2, 3]));
        Assert.True(await _store.EnableMfaAsync(user.Id, ["r1"], 10));
        Assert.False(await _store.EnableMfaAsync(user.Id, ["r2"], 20));
        Assert.False(await _store.BeginMfaAsync(user.Id, [4, 5, 6]));

        Assert.False(await _store.UseMfaStepAsync(user.Id, 10));
        Assert.True(await _store.UseMfaStepAsync(user.Id, 11));
        Assert.False(await _store.UseMfaStepAsync(user.Id, 11));
        Assert.False(await _store.UseMfaStepAsync(user.Id, 9));
        Assert.Equal(new MfaRecord(user.Id, [1, 2, 3], true, 11), await _store.GetMfaAsync(user.Id), MfaComparer.Instance);
        Assert.False(await _store.UseMfaStepAsync(Guid.NewGuid().ToString(), 50));
    }

    [DynamoFact]
    public async Task A_step_used_during_enrolment_cannot_enable_it()
    {
        var user = await UserAsync();
        Assert.True(await _store.BeginMfaAsync(user.Id, [7]));
        Assert.True(await _store.UseMfaStepAsync(user.Id, 5));
        Assert.False(await _store.EnableMfaAsync(user.Id, ["r"], 5));
        Assert.False((await _store.GetMfaAsync(user.Id))!.Enabled);
        // A new enrolment while still off replaces the secret.
        Assert.True(await _store.BeginMfaAsync(user.Id, [8]));
        Assert.Equal(new byte[] { 8 }, (await _store.GetMfaAsync(user.Id))!.Secret);
    }

    [DynamoFact]
    public async Task A_recovery_code_is_spent_once_and_goes_with_verification()
    {
        var user = await UserAsync();
        await _store.BeginMfaAsync(user.Id, [1]);
        await _store.EnableMfaAsync(user.Id, ["code-a", "code-b"], 1);

        Assert.True(await _store.UseRecoveryCodeAsync(user.Id, "code-a", 2));
        Assert.False(await _store.UseRecoveryCodeAsync(user.Id, "code-a", 3));
        Assert.False(await _store.UseRecoveryCodeAsync(user.Id, "unknown", 3));

        await _store.DisableMfaAsync(user.Id);
        Assert.Null(await _store.GetMfaAsync(user.Id));
        Assert.False(await _store.UseRecoveryCodeAsync(user.Id, "code-b", 4));
    }

    [DynamoFact]
    public async Task Tickets_are_capped_per_user_and_each_is_redeemed_once()
    {
        var user = await UserAsync();
        Assert.True(await _store.AddWsTicketAsync("t1", user.Id, "s1", 100, 10_000, 100, 2));
        Assert.True(await _store.AddWsTicketAsync("t2", user.Id, null, 100, 10_000, 100, 2));
        Assert.False(await _store.AddWsTicketAsync("t3", user.Id, null, 100, 10_000, 100, 2));
        Assert.True(await _store.AddWsTicketAsync("other", (await UserAsync()).Id, null, 100, 10_000, 100, 2));

        var redeemed = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => _store.RedeemWsTicketAsync("t1", 200)));
        Assert.Equal(new WsTicketRecord(user.Id, "s1", 100, 10_000), Assert.Single(redeemed, r => r is not null));
        Assert.Null(await _store.RedeemWsTicketAsync("t1", 200));
        // The redeemed ticket no longer counts.
        Assert.True(await _store.AddWsTicketAsync("t3", user.Id, null, 200, 10_000, 200, 2));
    }

    [DynamoFact]
    public async Task An_expired_ticket_is_refused_and_no_longer_counts()
    {
        var user = await UserAsync();
        Assert.True(await _store.AddWsTicketAsync("old", user.Id, null, 100, 1_000, 100, 1));
        Assert.True(await _store.AddWsTicketAsync("new", user.Id, null, 1_000, 2_000, 1_000, 1));
        Assert.Null(await _store.RedeemWsTicketAsync("old", 1_000));
        Assert.NotNull(await _store.RedeemWsTicketAsync("new", 1_999));
    }

    [DynamoFact]
    public async Task Push_subscriptions_are_capped_moved_and_deleted()
    {
        var a = await UserAsync();
        var b = await UserAsync();
        PushSubscriptionRecord Sub(UserRecord user, string endpoint, string keys = "k") => new(endpoint, user.Id, keys, keys, 1);
        Assert.True(await _store.AddPushSubscriptionAsync(Sub(a, "https://push.example/1"), 2));
        Assert.True(await _store.AddPushSubscriptionAsync(Sub(a, "https://push.example/2"), 2));
        Assert.False(await _store.AddPushSubscriptionAsync(Sub(a, "https://push.example/3"), 2));
        // Renewing a subscription one holds is not one more.
        Assert.True(await _store.AddPushSubscriptionAsync(Sub(a, "https://push.example/2", "renewed"), 2));
        Assert.Contains(await _store.GetPushSubscriptionsAsync([a.Id]), s => s.Endpoint == "https://push.example/2" && s.Auth == "renewed");

        // The browser of endpoint 2 signs in as b: it is b's alone now.
        Assert.True(await _store.AddPushSubscriptionAsync(Sub(b, "https://push.example/2"), 2));
        Assert.Equal(new[] { "https://push.example/1" }, (await _store.GetPushSubscriptionsAsync([a.Id])).Select(s => s.Endpoint));

        await _store.DeletePushSubscriptionAsync(Assert.Single(await _store.GetPushSubscriptionsAsync([b.Id])));
        Assert.Empty(await _store.GetPushSubscriptionsAsync([b.Id]));
        Assert.True(await _store.RemovePushSubscriptionAsync(a.Id, "https://push.example/1"));
        Assert.False(await _store.RemovePushSubscriptionAsync(a.Id, "https://push.example/1"));
        Assert.Empty(await _store.GetPushSubscriptionsAsync([a.Id, b.Id]));
    }

    [DynamoFact]
    public async Task Revocations_are_read_since_a_moment_and_pruned_before_one()
    {
        var a = await UserAsync();
        var b = await UserAsync();
        await _store.AddRefreshTokenAsync(new RefreshTokenRecord("ta", a.Id, "session-a", 1, long.MaxValue));
        await _store.AddRefreshTokenAsync(new RefreshTokenRecord("tb", b.Id, "session-b", 1, long.MaxValue));
        await _store.RevokeSessionAsync(a.Id, "session-a", 1_000);
        await _store.RevokeAllSessionsAsync(b.Id, 2_000);

        Assert.Equal(new[] { new SessionRevocation(a.Id, "session-a", 1_000), new SessionRevocation(b.Id, null, 2_000) }, await _store.GetRevocationsAsync(0));
        Assert.Equal(new[] { new SessionRevocation(b.Id, null, 2_000) }, await _store.GetRevocationsAsync(1_001));
        Assert.Null(await _store.FindLiveRefreshTokenAsync("ta", 5));
        Assert.Null(await _store.FindLiveRefreshTokenAsync("tb", 5));
        Assert.Equal((a.Id, "session-a"), await _store.FindRefreshSessionAsync("ta"));

        await _store.PruneRevocationsAsync(2_000);
        Assert.Equal(new[] { new SessionRevocation(b.Id, null, 2_000) }, await _store.GetRevocationsAsync(0));
    }

    [DynamoFact]
    public async Task Concurrent_rotations_of_one_token_rotate_it_at_most_once_and_end_the_session()
    {
        var user = await UserAsync();
        await _store.AddRefreshTokenAsync(new RefreshTokenRecord("start", user.Id, "family", 1, long.MaxValue));
        Assert.Equal(user.Id, await _store.FindLiveRefreshTokenAsync("start", 2));
        var next = 0;
        var rotations = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => _store.RotateRefreshTokenAsync("start",
            (uid, family) => new RefreshTokenRecord("next" + Interlocked.Increment(ref next), uid, family, 2, long.MaxValue), 2)));

        // One retires the token; the others find it used (a replay) and end the session, which can
        // overtake the winner before it stores its new token: then none rotated.
        Assert.InRange(rotations.Count(r => r.Outcome == RefreshOutcome.Rotated), 0, 1);
        Assert.Contains(new RefreshRotation(RefreshOutcome.Reused, user.Id, "family"), rotations);
        Assert.Null(await _store.FindLiveRefreshTokenAsync("start", 3));
        for (var i = 1; i <= next; i++) Assert.Null(await _store.FindLiveRefreshTokenAsync("next" + i, 3));
    }

    [DynamoFact]
    public async Task An_expired_refresh_token_neither_rotates_nor_counts_as_live()
    {
        var user = await UserAsync();
        await _store.AddRefreshTokenAsync(new RefreshTokenRecord("short", user.Id, "f", 1, 100));
        Assert.Equal(user.Id, await _store.FindLiveRefreshTokenAsync("short", 99));
        Assert.Null(await _store.FindLiveRefreshTokenAsync("short", 100));
        Assert.Equal(RefreshOutcome.Invalid, (await _store.RotateRefreshTokenAsync("short", (u, f) => new("n", u, f, 100, 200), 100)).Outcome);
    }

    [DynamoFact]
    public async Task Blocks_are_seen_from_both_sides_until_lifted()
    {
        var a = await UserAsync();
        var b = await UserAsync();
        await _store.SetBlockedAsync(a.Id, b.Id, true, 1);
        await _store.SetBlockedAsync(a.Id, b.Id, true, 2);

        Assert.True(await _store.IsBlockedAsync(a.Id, b.Id));
        Assert.False(await _store.IsBlockedAsync(b.Id, a.Id));
        var ofA = await _store.GetBlocksAsync(a.Id);
        var ofB = await _store.GetBlocksAsync(b.Id);
        Assert.Equal(new[] { b.Id }, ofA.Blocked);
        Assert.Empty(ofA.BlockedBy);
        Assert.Empty(ofB.Blocked);
        Assert.Equal(new[] { a.Id }, ofB.BlockedBy);

        await _store.SetBlockedAsync(a.Id, b.Id, false, 3);
        Assert.False(await _store.IsBlockedAsync(a.Id, b.Id));
        Assert.Empty((await _store.GetBlocksAsync(b.Id)).BlockedBy);
        Assert.Empty((await _store.GetBlocksAsync(a.Id)).Blocked);
    }

    [DynamoFact]
    public async Task Media_is_seen_by_its_uploader_members_of_its_chats_and_everyone_as_a_photo_but_not_by_strangers()
    {
        var uploader = await UserAsync();
        var stranger = await UserAsync();
        var member = await UserAsync();
        var leaver = await UserAsync();
        await _store.SaveMediaAsync(new MediaRecord("m1", uploader.Id, "image/png", 10, 1));
        Assert.Equal(new HashSet<string> { "m1" }, await _store.KnownMediaAsync(["m1", "m2", "m1"]));
        Assert.True(await _store.CanSeeMediaAsync("m1", uploader.Id));
        Assert.False(await _store.CanSeeMediaAsync("m1", stranger.Id));
        await Assert.ThrowsAsync<InvalidOperationException>(() => _store.SaveMediaAsync(new MediaRecord("m1", stranger.Id, "image/png", 10, 1)));

        // The items the chat side writes when the media is sent to a chat.
        await _db.PutAsync(_db.Records, Item.Record("mediachat#m1", "chat-1"));
        await _db.PutAsync(_db.ChatMembers, Item.Key("chatId", "chat-1", "userId", member.Id));
        await _db.PutAsync(_db.ChatMembers, Item.Key("chatId", "chat-1", "userId", leaver.Id).With("leftAt", 5L));
        Assert.True(await _store.CanSeeMediaAsync("m1", member.Id));
        Assert.False(await _store.CanSeeMediaAsync("m1", leaver.Id));
        Assert.False(await _store.CanSeeMediaAsync("m1", stranger.Id));

        // ... and when a profile shows it.
        await _db.PutAsync(_db.Records, Item.Record("photo#m1", uploader.Id));
        Assert.True(await _store.CanSeeMediaAsync("m1", stranger.Id));
    }

    [DynamoFact]
    public async Task A_claim_left_by_a_failed_registration_is_taken_over_but_a_live_one_is_not()
    {
        var email = $"{Guid.NewGuid():N}@example.com";
        // A registration that claimed the address and stopped before writing its user.
        await _db.PutAsync(_db.Records, UserItems.EmailClaim(email).With("userId", "never-written"));
        var user = await UserAsync(email);
        Assert.Equal(user.Id, (await _store.FindUserByEmailAsync(email))?.Id);

        var again = user with { Id = Guid.NewGuid().ToString() };
        Assert.False(await _store.CreateUserAsync(again));
        Assert.Null(await _store.GetUserAsync(again.Id));
        Assert.Equal(user.Id, (await _store.FindUserByEmailAsync(email))?.Id);
    }

    [DynamoFact]
    public async Task Of_concurrent_registrations_of_one_email_exactly_one_is_made()
    {
        var email = $"{Guid.NewGuid():N}@example.com";
        var candidates = Enumerable.Range(0, 6)
            .Select(i => new UserRecord(Guid.NewGuid().ToString(), email, null, "Candidate " + i, null, "C", null, "hash", false, 1, 0)).ToList();
        var created = await Task.WhenAll(candidates.Select(_store.CreateUserAsync));

        var winner = candidates[Assert.Single(Enumerable.Range(0, created.Length), i => created[i])];
        Assert.Equal(winner.Id, (await _store.FindUserByEmailAsync(email))?.Id);
        Assert.Equal(new[] { winner.Id }, (await _store.GetUsersAsync(candidates.Select(c => c.Id).ToList())).Select(u => u.Id));
    }

    [DynamoFact]
    public async Task A_registration_refused_for_its_phone_number_keeps_no_claim_on_its_email()
    {
        var phone = "+1555" + Random.Shared.Next(1_000_000, 9_999_999);
        await UserAsync(phone: phone);
        var email = $"{Guid.NewGuid():N}@example.com";
        var refused = new UserRecord(Guid.NewGuid().ToString(), email, phone, "Late", null, "L", null, "hash", false, 1, 0);
        Assert.False(await _store.CreateUserAsync(refused));
        Assert.Null(await _db.GetAsync(_db.Records, UserItems.EmailClaim(email)));
        Assert.Null(await _store.FindUserByEmailAsync(email));
        await UserAsync(email);
    }

    [DynamoFact]
    public async Task An_address_of_an_account_that_no_longer_holds_it_is_free()
    {
        var email = $"{Guid.NewGuid():N}@example.com";
        var first = await UserAsync(email);
        // What erasing an account does to its item: the address goes.
        await _db.UpdateAsync(_db.Users, UserItems.Key(first.Id), "REMOVE #email SET #deleted = :now",
            values: new() { [":now"] = Item.N(5) }, names: new() { ["#email"] = UserItems.Email, ["#deleted"] = "deletedAt" });
        Assert.Null(await _store.FindUserByEmailAsync(email));
        var second = await UserAsync(email);
        Assert.Equal(second.Id, (await _store.FindUserByEmailAsync(email))?.Id);
    }

    [DynamoFact]
    public async Task An_external_user_left_half_made_is_finished_by_the_next_sign_in()
    {
        const string issuer = "https://issuer.example";
        var subject = Guid.NewGuid().ToString();
        var first = new UserRecord(Guid.NewGuid().ToString(), null, null, "First", null, "F", null, "!external", true, 1, 0);
        // A sign-in that claimed the subject and stopped before writing its user.
        await _db.PutAsync(_db.Records, Item.Record($"ext#{issuer}#{subject}", "-").With("userId", first.Id)
            .With("createdAt", 1L).WithMap("pending", UserItems.UserItem(first)));
        Assert.Null(await _store.FindExternalIdentityAsync(issuer, subject));

        var second = first with { Id = Guid.NewGuid().ToString(), Name = "Second" };
        Assert.Equal(new ExternalIdentityRecord(first.Id, false), await _store.AddExternalUserAsync(issuer, subject, second));
        Assert.Equal("First", (await _store.GetUserAsync(first.Id))?.Name);
        Assert.Null(await _store.GetUserAsync(second.Id));
        Assert.Equal(new ExternalIdentityRecord(first.Id, false), await _store.FindExternalIdentityAsync(issuer, subject));
        // Done, the mapping keeps no copy of the profile.
        Assert.False((await _db.GetAsync(_db.Records, Item.Record($"ext#{issuer}#{subject}", "-")))!.ContainsKey("pending"));
    }

    [DynamoFact]
    public async Task A_copy_of_the_profile_left_on_a_mapping_goes_when_the_mapping_is_read()
    {
        const string issuer = "https://issuer.example";
        var subject = Guid.NewGuid().ToString();
        var user = new UserRecord(Guid.NewGuid().ToString(), null, null, "Made", null, "M", null, "!external", true, 1, 0);
        // A sign-in that wrote its user and stopped before clearing the mapping's copy.
        Assert.True(await _store.CreateUserAsync(user));
        var key = Item.Record($"ext#{issuer}#{subject}", "-");
        await _db.PutAsync(_db.Records, new Dictionary<string, Amazon.DynamoDBv2.Model.AttributeValue>(key).With("userId", user.Id)
            .With("createdAt", 1L).WithMap("pending", UserItems.UserItem(user)));

        Assert.Equal(new ExternalIdentityRecord(user.Id, false), await _store.FindExternalIdentityAsync(issuer, subject));
        Assert.False((await _db.GetAsync(_db.Records, key))!.ContainsKey("pending"));
    }

    [DynamoFact]
    public async Task A_server_secret_is_the_first_one_stored()
    {
        Assert.Equal("one", await _store.GetOrAddServerSecretAsync("vapid", "one", 1));
        Assert.Equal("one", await _store.GetOrAddServerSecretAsync("vapid", "two", 2));
        Assert.Equal("three", await _store.GetOrAddServerSecretAsync("other", "three", 3));
    }

    private sealed class MfaComparer : IEqualityComparer<MfaRecord?>
    {
        public static readonly MfaComparer Instance = new();

        public bool Equals(MfaRecord? x, MfaRecord? y) =>
            x is not null && y is not null && x.UserId == y.UserId && x.Secret.SequenceEqual(y.Secret) && x.Enabled == y.Enabled && x.LastStep == y.LastStep;

        public int GetHashCode(MfaRecord? obj) => obj?.UserId.GetHashCode(StringComparison.Ordinal) ?? 0;
    }
}

internal static class MapAttribute
{
    public static Dictionary<string, Amazon.DynamoDBv2.Model.AttributeValue> WithMap(this Dictionary<string, Amazon.DynamoDBv2.Model.AttributeValue> item,
        string name, Dictionary<string, Amazon.DynamoDBv2.Model.AttributeValue> map)
    {
        item[name] = new Amazon.DynamoDBv2.Model.AttributeValue { M = map };
        return item;
    }
}
