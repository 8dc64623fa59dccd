using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Blobs;
using Parley.Server.Configuration;
using Parley.Server.Storage;
using Parley.Testing;

namespace Parley.Tests.Storage;

/// <summary>
/// The store contract, exercised on <see cref="IParleyStore"/> directly: one abstract suite, one
/// sealed subclass per backend (as in Dapper's tests). Every backend must give the same answers.
/// </summary>
public abstract partial class StoreContractTests : IAsyncLifetime
{
    private ServiceProvider? _services;
    private long _clock = 1_700_000_000_000;

    protected IParleyStore Store { get; private set; } = null!;
    /// <summary>Every event the store published after a commit, in publication order.</summary>
    protected ConcurrentQueue<StoredEvent> Published { get; } = new();

    /// <summary>The Parley settings that select and locate the backend.</summary>
    protected abstract Task<Dictionary<string, string?>> BackendSettingsAsync();
    protected virtual Task DropBackendAsync() => Task.CompletedTask;

    public async Task InitializeAsync()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(await BackendSettingsAsync()).Build();
        var options = configuration.GetSection(ParleyOptions.Section).Get<ParleyOptions>()!;
        var services = new ServiceCollection();
        services.AddLogging();
        services.Configure<ParleyOptions>(configuration.GetSection(ParleyOptions.Section));
        services.AddSingleton(TimeProvider.System);
        services.AddParleyBlobs(options);
        services.AddParleyStorage(options);
        _services = services.BuildServiceProvider();
        _services.GetRequiredService<EventStream>().Subscribe(Published.Enqueue);
        Store = _services.GetRequiredService<IParleyStore>();
        await Store.InitializeAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        if (_services is not null) await _services.DisposeAsync();
        await DropBackendAsync();
    }

    protected long Now() => Interlocked.Increment(ref _clock);

    /// <summary>Closes the store and opens it again on the same settings, as a restarted server
    /// does (the same data only where the settings name it: the SQLite file).</summary>
    protected async Task ReopenAsync()
    {
        await _services!.DisposeAsync();
        Published.Clear();
        await InitializeAsync();
    }

    private async Task<UserRecord> UserAsync(string name = "Test User")
    {
        var id = Guid.NewGuid().ToString();
        var user = new UserRecord(id, $"{id[..8]}@example.com", null, name, null, "TU", null, "hash", true, Now(), 0);
        Assert.True(await Store.CreateUserAsync(user));
        return user;
    }

    private async Task<string> DirectChatAsync(UserRecord a, UserRecord b)
    {
        var id = string.CompareOrdinal(a.Id, b.Id) < 0 ? $"chat_{a.Id}_{b.Id}" : $"chat_{b.Id}_{a.Id}";
        await Store.GetOrCreateDirectChatAsync(id, a.Id, b.Id, Now());
        return id;
    }

    private async Task<MessageRecord> SendAsync(string chatId, UserRecord sender, string content, string? clientMessageId = null, string? replyTo = null)
    {
        var result = await Store.SendMessageAsync(new NewMessage(chatId, sender.Id, MessageTypes.Text, content, clientMessageId, replyTo, null, Now()), null);
        Assert.Equal(SendOutcome.Stored, result.Outcome);
        return result.Message!;
    }

    protected static long Unread(MemberRecord me, ChatRecord chat) => chat.LastSeq - me.ReadSeq - me.OwnAfterRead;

    protected async Task<List<StoredEvent>> SyncAllAsync(string userId, StreamCursor since, int limit = 1000)
    {
        var all = new List<StoredEvent>();
        while (true)
        {
            var page = await Store.SyncAsync(userId, since, limit);
            all.AddRange(page.Events);
            Assert.True(since.IsWithin(page.Cursor), "a cursor never moves back");
            Assert.All(page.Events, e => Assert.False(since.Covers(e.Writer, e.Pos), "a page holds only what its cursor did not cover"));
            Assert.All(page.Events, e => Assert.True(page.Cursor.Covers(e.Writer, e.Pos), "the next cursor covers the page"));
            since = page.Cursor;
            if (!page.HasMore) return all;
        }
    }

    [StoreFact]
    public async Task A_user_is_found_by_id_email_and_phone_and_a_taken_email_is_refused()
    {
        var id = Guid.NewGuid().ToString();
        var phone = "+1555" + Random.Shared.Next(1_000_000, 9_999_999);
        var user = new UserRecord(id, $"{id}@example.com", phone, "Ann Lee", "hi", "AL", null, "hash", false, Now(), 0);
        Assert.True(await Store.CreateUserAsync(user));
        Assert.False(await Store.CreateUserAsync(user with { Id = Guid.NewGuid().ToString(), PhoneNumber = null }));

        Assert.Equal(user, await Store.GetUserAsync(id));
        Assert.Equal(id, (await Store.FindUserByEmailAsync(user.Email!))?.Id);
        Assert.Equal(id, (await Store.FindUserByPhoneAsync(phone))?.Id);
        Assert.Null(await Store.GetUserAsync(Guid.NewGuid().ToString()));

        await Store.ConfirmUserAsync(id);
        await Store.SetLastSeenAsync(id, 50);
        await Store.SetLastSeenAsync(id, 40);
        var updated = await Store.UpdateProfileAsync(id, "Ann Smith", null, null);
        Assert.Equal("Ann Smith", updated?.Name);
        Assert.Equal("hi", updated?.About);
        var reread = await Store.GetUserAsync(id);
        Assert.True(reread!.Confirmed);
        Assert.Equal(50, reread.LastSeen);
    }

    [StoreFact]
    public async Task User_search_is_ordered_by_name_then_id_pages_after_a_key_and_excludes_the_caller()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var me = await UserAsync($"zz {tag} me");
        var names = new[] { $"Bob {tag}", $"alice {tag}", $"Carol {tag}", $"alice {tag}" };
        foreach (var name in names) await UserAsync(name);

        var all = await Store.SearchUsersAsync(me.Id, tag, null, null, 10);
        Assert.Equal(4, all.Count);
        Assert.Equal(all.OrderBy(u => u.Name.ToLowerInvariant(), StringComparer.Ordinal).ThenBy(u => u.Id, StringComparer.Ordinal).Select(u => u.Id), all.Select(u => u.Id));
        Assert.DoesNotContain(all, u => u.Id == me.Id);

        var first = await Store.SearchUsersAsync(me.Id, tag, null, null, 2);
        var rest = await Store.SearchUsersAsync(me.Id, tag, first[^1].Name, first[^1].Id, 10);
        Assert.Equal(all.Select(u => u.Id), first.Concat(rest).Select(u => u.Id));
        Assert.Empty(await Store.SearchUsersAsync(me.Id, tag + "_%", null, null, 10));
    }

    [StoreFact]
    public async Task The_signing_key_is_the_first_one_stored()
    {
        var first = await Store.GetOrAddSigningKeyAsync(new SigningKeyRecord("k1", "private-1", 1));
        var second = await Store.GetOrAddSigningKeyAsync(new SigningKeyRecord("k2", "private-2", 2));
        Assert.Equal(first, second);
    }

    [StoreFact]
    public async Task A_refresh_token_rotates_once_and_a_replay_revokes_its_family()
    {
        var user = await UserAsync();
        await Store.AddRefreshTokenAsync(new RefreshTokenRecord("t1", user.Id, "f1", Now(), long.MaxValue));
        RefreshTokenRecord Next(string uid, string family) => new("t2", uid, family, Now(), long.MaxValue);

        Assert.Equal(RefreshOutcome.Rotated, (await Store.RotateRefreshTokenAsync("t1", Next, Now())).Outcome);
        Assert.Equal(RefreshOutcome.Reused, (await Store.RotateRefreshTokenAsync("t1", Next, Now())).Outcome);
        Assert.Equal(RefreshOutcome.Invalid, (await Store.RotateRefreshTokenAsync("t2", Next, Now())).Outcome);
        Assert.Equal(RefreshOutcome.Invalid, (await Store.RotateRefreshTokenAsync("unknown", Next, Now())).Outcome);
    }

    [StoreFact]
    public async Task A_code_allows_few_attempts_and_is_spent_when_accepted()
    {
        var user = await UserAsync();
        await Store.SaveCodeAsync(user.Id, "reset", "right", long.MaxValue);
        Assert.Equal(CodeCheck.Wrong, await Store.CheckCodeAsync(user.Id, "reset", "wrong", Now(), 2));
        Assert.Equal(CodeCheck.Accepted, await Store.CheckCodeAsync(user.Id, "reset", "right", Now(), 2));
        Assert.Equal(CodeCheck.ExpiredOrMissing, await Store.CheckCodeAsync(user.Id, "reset", "right", Now(), 2));

        await Store.SaveCodeAsync(user.Id, "reset", "right", long.MaxValue);
        Assert.Equal(CodeCheck.Wrong, await Store.CheckCodeAsync(user.Id, "reset", "x", Now(), 2));
        Assert.Equal(CodeCheck.Wrong, await Store.CheckCodeAsync(user.Id, "reset", "y", Now(), 2));
        Assert.Equal(CodeCheck.TooManyAttempts, await Store.CheckCodeAsync(user.Id, "reset", "right", Now(), 2));

        await Store.SaveCodeAsync(user.Id, "confirm", "c", 10);
        Assert.Equal(CodeCheck.ExpiredOrMissing, await Store.CheckCodeAsync(user.Id, "confirm", "c", 11, 2));
    }

    [StoreFact]
    public async Task A_direct_chat_is_created_once_with_both_users_as_members()
    {
        var a = await UserAsync();
        var b = await UserAsync();
        var id = string.CompareOrdinal(a.Id, b.Id) < 0 ? $"chat_{a.Id}_{b.Id}" : $"chat_{b.Id}_{a.Id}";
        var results = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => Store.GetOrCreateDirectChatAsync(id, a.Id, b.Id, Now())));
        Assert.Single(results, r => r.Created);
        Assert.Equal(new[] { a.Id, b.Id }.Order(StringComparer.Ordinal), (await Store.GetMembersAsync(id)).Select(m => m.UserId).Order(StringComparer.Ordinal));
        Assert.Contains(id, await Store.GetChatIdsAsync(a.Id));
        Assert.Contains(b.Id, await Store.GetContactsAsync(a.Id));
        Assert.False((await Store.GetChatAsync(id))!.IsGroup);
    }

    [StoreFact]
    public async Task Concurrent_sends_get_seq_1_to_n_with_no_gaps_and_are_published_in_position_order()
    {
        var a = await UserAsync();
        var b = await UserAsync();
        var chat = await DirectChatAsync(a, b);
        var sends = Enumerable.Range(0, 60).Select(i => Store.SendMessageAsync(
            new NewMessage(chat, i % 2 == 0 ? a.Id : b.Id, MessageTypes.Text, $"m{i}", null, null, null, Now()), null));
        var results = await Task.WhenAll(sends);

        Assert.All(results, r => Assert.Equal(SendOutcome.Stored, r.Outcome));
        Assert.Equal(Enumerable.Range(1, 60).Select(i => (long)i), results.Select(r => r.Message!.Seq).Order());
        Assert.Equal(60, results.Select(r => r.Message!.Pos).Distinct().Count());
        // Seq order and position order agree within a chat.
        var byPos = results.Select(r => r.Message!).OrderBy(m => m.Pos).ToList();
        Assert.Equal(byPos.Select(m => m.Seq), byPos.Select(m => m.Seq).Order());

        var positions = Published.Select(e => e.Pos).ToList();
        Assert.Equal(positions.Order(), positions);
        Assert.Equal(60, Published.Count(e => e.Kind == EventKind.Message && e.ChatId == chat));
        Assert.Equal(60, (await Store.GetChatAsync(chat))!.LastSeq);
        var lastStored = Published.Last(e => e.Kind == EventKind.Message && e.ChatId == chat);
        Assert.True((await Store.CurrentCursorAsync()).Covers(lastStored.Writer, lastStored.Pos));
    }

    [StoreFact]
    public async Task A_retry_with_the_same_client_message_id_returns_the_original_and_stores_nothing()
    {
        var a = await UserAsync();
        var b = await UserAsync();
        var chat = await DirectChatAsync(a, b);
        var original = await SendAsync(chat, a, "hello", "c-1");
        var retries = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ =>
            Store.SendMessageAsync(new NewMessage(chat, a.Id, MessageTypes.Text, "hello again", "c-1", null, null, Now()), null)));
        Assert.All(retries, r =>
        {
            Assert.Equal(SendOutcome.Duplicate, r.Outcome);
            Assert.Equal(original.Id, r.Message!.Id);
            Assert.Equal("hello", r.Message.Content);
        });
        // The key is per sender: the other member may use the same client id.
        var other = await SendAsync(chat, b, "mine", "c-1");
        Assert.Equal(2, other.Seq);
        Assert.Equal(2, (await Store.GetChatAsync(chat))!.LastSeq);
    }

    [StoreFact]
    public async Task Non_members_cannot_send_and_a_reply_must_name_a_message_of_the_chat()
    {
        var a = await UserAsync();
        var b = await UserAsync();
        var stranger = await UserAsync();
        var chat = await DirectChatAsync(a, b);
        var first = await SendAsync(chat, a, new string('x', 150));

        var refused = await Store.SendMessageAsync(new NewMessage(chat, stranger.Id, MessageTypes.Text, "hi", null, null, null, Now()), null);
        Assert.Equal(SendOutcome.NotMember, refused.Outcome);
        var badReply = await Store.SendMessageAsync(new NewMessage(chat, b.Id, MessageTypes.Text, "re", null, "msg_unknown", null, Now()), null);
        Assert.Equal(SendOutcome.ReplyNotFound, badReply.Outcome);

        var reply = await SendAsync(chat, b, "re", replyTo: first.Id);
        Assert.Equal(first.Id, reply.ReplyTo);
        Assert.Equal(new string('x', 100), reply.ReplyQuote);
        Assert.Equal(2, reply.Seq);
        Assert.Equal(reply, await Store.GetMessageAsync(reply.Id));
    }

    [StoreFact]
    public async Task History_pages_newest_first_between_positions()
    {
        var a = await UserAsync();
        var b = await UserAsync();
        var chat = await DirectChatAsync(a, b);
        var sent = new List<MessageRecord>();
        for (var i = 0; i < 7; i++) sent.Add(await SendAsync(chat, a, $"m{i}"));

        var page = await Store.GetMessagesAsync(chat, a.Id, 0, long.MaxValue, 3);
        Assert.Equal(["m6", "m5", "m4"], page.Select(m => m.Content));
        var older = await Store.GetMessagesAsync(chat, a.Id, 0, page[^1].Pos, 10);
        Assert.Equal(["m3", "m2", "m1", "m0"], older.Select(m => m.Content));
        Assert.Equal(["m4", "m3"], (await Store.GetMessagesAsync(chat, a.Id, sent[2].Pos, sent[5].Pos, 10)).Select(m => m.Content));
    }

    [StoreFact]
    public async Task Edits_and_deletes_are_the_senders_and_sync_reads_back_the_message_as_it_is_now()
    {
        var a = await UserAsync();
        var b = await UserAsync();
        var chat = await DirectChatAsync(a, b);
        var message = await SendAsync(chat, a, "first draft");
        var cursor = await Store.CurrentCursorAsync();

        Assert.Equal(ChangeOutcome.NotSender, (await Store.EditMessageAsync(message.Id, b.Id, "hijacked", Now())).Outcome);
        Assert.Equal(ChangeOutcome.NotFound, (await Store.EditMessageAsync("msg_unknown", a.Id, "x", Now())).Outcome);
        var edited = await Store.EditMessageAsync(message.Id, a.Id, "second draft", Now());
        Assert.Equal(ChangeOutcome.Done, edited.Outcome);
        Assert.Equal("second draft", edited.Message!.Content);
        Assert.NotNull(edited.Message.EditedAt);
        Assert.Contains(Published, e => e.Kind == EventKind.MessageUpdated && e.Message?.Content == "second draft");

        var deleted = await Store.DeleteMessageForEveryoneAsync(message.Id, a.Id, Now());
        Assert.True(deleted.Message!.Deleted);
        Assert.Null(deleted.Message.Content);
        Assert.Equal(ChangeOutcome.NotChangeable, (await Store.EditMessageAsync(message.Id, a.Id, "again", Now())).Outcome);

        var updates = (await SyncAllAsync(b.Id, cursor)).Where(e => e.Kind == EventKind.MessageUpdated).ToList();
        Assert.Equal(2, updates.Count);
        Assert.All(updates, e => Assert.True(e.Message!.Deleted));
        Assert.Equal(message.Seq, updates[0].Message!.Seq);
    }

    [StoreFact]
    public async Task A_hidden_message_disappears_from_one_members_history_only()
    {
        var a = await UserAsync();
        var b = await UserAsync();
        var stranger = await UserAsync();
        var chat = await DirectChatAsync(a, b);
        var message = await SendAsync(chat, a, "secret");
        Assert.Equal(ChangeOutcome.NotFound, await Store.HideMessageAsync(message.Id, stranger.Id));
        Assert.Equal(ChangeOutcome.Done, await Store.HideMessageAsync(message.Id, b.Id));
        Assert.Equal(ChangeOutcome.Done, await Store.HideMessageAsync(message.Id, b.Id));
        Assert.Empty(await Store.GetMessagesAsync(chat, b.Id, 0, long.MaxValue, 10));
        Assert.Single(await Store.GetMessagesAsync(chat, a.Id, 0, long.MaxValue, 10));

        // What the hider's summary, sync and export leave out: the message, once, with its seq and sender.
        var hidden = Assert.Single(await Store.GetHiddenMessagesAsync(b.Id, chat));
        Assert.Equal(new HiddenMessage(message.Pos, message.Seq, a.Id), hidden);
        Assert.Empty(await Store.GetHiddenMessagesAsync(a.Id, chat));
        Assert.Empty(await Store.GetHiddenMessagesAsync(b.Id, await DirectChatAsync(b, stranger)));
        // The chat list and sync pages read hidden messages only in the chats this names.
        Assert.Equal([chat], await Store.ChatsWithHiddenMessagesAsync(b.Id));
        Assert.Empty(await Store.ChatsWithHiddenMessagesAsync(a.Id));
    }

    [StoreFact]
    public async Task Blocks_are_seen_from_both_sides_and_a_deleted_account_keeps_only_its_id()
    {
        var a = await UserAsync("Ann");
        var b = await UserAsync("Bob");
        await Store.SetBlockedAsync(a.Id, b.Id, true, Now());
        await Store.SetBlockedAsync(a.Id, b.Id, true, Now());
        Assert.True(await Store.IsBlockedAsync(a.Id, b.Id));
        Assert.False(await Store.IsBlockedAsync(b.Id, a.Id));
        Assert.Contains(b.Id, (await Store.GetBlocksAsync(a.Id)).Blocked);
        Assert.Contains(a.Id, (await Store.GetBlocksAsync(b.Id)).BlockedBy);
        await Store.SetBlockedAsync(a.Id, b.Id, false, Now());
        Assert.False(await Store.IsBlockedAsync(a.Id, b.Id));

        var chat = await DirectChatAsync(a, b);
        var message = await SendAsync(chat, b, "from bob");
        await Store.AddRefreshTokenAsync(new RefreshTokenRecord("bob-token", b.Id, "bob-family", Now(), long.MaxValue));
        await Store.DeleteUserAsync(b.Id, Now());
        var gone = await Store.GetUserAsync(b.Id);
        Assert.Equal(AccountNames.Deleted, gone!.Name);
        // Still found by id (old chats show it), but marked deleted, singly and in a batch.
        Assert.True(gone.IsDeleted);
        Assert.False((await Store.GetUserAsync(a.Id))!.IsDeleted);
        Assert.True((await Store.GetUsersAsync([b.Id])).Single().IsDeleted);
        Assert.Null(gone.Email);
        Assert.Null(await Store.FindUserByEmailAsync(b.Email!));
        Assert.Equal(AccountNames.Deleted, (await Store.GetMessageAsync(message.Id))!.SenderName);
        Assert.Empty(await Store.SearchUsersAsync(a.Id, "deleted", null, null, 10));
        Assert.Equal(RefreshOutcome.Invalid, (await Store.RotateRefreshTokenAsync("bob-token", (u, f) => new("x", u, f, 0, long.MaxValue), Now())).Outcome);
    }

    [StoreFact]
    public async Task A_replaced_profile_photo_is_forgotten_unless_a_chat_shows_it()
    {
        var a = await UserAsync("Ann");
        var b = await UserAsync("Bob");
        var chat = await DirectChatAsync(a, b);
        MediaRecord Photo() => new("media_photo_" + Guid.NewGuid().ToString("N"), b.Id, "image/png", 3, Now());
        var first = Photo();
        var second = Photo();
        var third = Photo();
        foreach (var media in new[] { first, second, third }) await Store.SaveMediaAsync(media);
        Assert.Null((await Store.SetPhotoAsync(b.Id, first.Id)).Forgotten);

        var (user, forgotten) = await Store.SetPhotoAsync(b.Id, second.Id);

        Assert.Equal(second.Id, user!.PhotoMediaId);
        Assert.Equal(first.Id, forgotten);
        Assert.Null(await Store.GetMediaAsync(first.Id));
        // A photo that was also sent in a chat stays for that chat.
        var sent = await Store.SendMessageAsync(new NewMessage(chat, b.Id, "image", null, null, null,
            $$"""{"mediaId":"{{second.Id}}"}""", Now()) { MediaId = second.Id }, null);
        Assert.Equal(SendOutcome.Stored, sent.Outcome);
        Assert.Null((await Store.SetPhotoAsync(b.Id, third.Id)).Forgotten);
        Assert.NotNull(await Store.GetMediaAsync(second.Id));
    }

    [StoreFact]
    public async Task Deleting_an_account_forgets_its_uploads_that_no_chat_shows_and_names_them_for_the_blob_store()
    {
        var a = await UserAsync("Ann");
        var b = await UserAsync("Bob");
        var chat = await DirectChatAsync(a, b);
        var photo = new MediaRecord("media_photo_" + Guid.NewGuid().ToString("N"), b.Id, "image/png", 3, Now());
        var unused = new MediaRecord("media_unused_" + Guid.NewGuid().ToString("N"), b.Id, "image/png", 3, Now());
        var sent = new MediaRecord("media_sent_" + Guid.NewGuid().ToString("N"), b.Id, "image/png", 3, Now());
        var others = new MediaRecord("media_others_" + Guid.NewGuid().ToString("N"), a.Id, "image/png", 3, Now());
        foreach (var media in new[] { photo, unused, sent, others }) await Store.SaveMediaAsync(media);
        await Store.SetPhotoAsync(b.Id, photo.Id);
        var result = await Store.SendMessageAsync(new NewMessage(chat, b.Id, "image", null, null, null,
            $$"""{"mediaId":"{{sent.Id}}"}""", Now()) { MediaId = sent.Id }, null);
        Assert.Equal(SendOutcome.Stored, result.Outcome);

        var forgotten = await Store.DeleteUserAsync(b.Id, Now());

        Assert.Equal(new[] { photo.Id, unused.Id }.Order(StringComparer.Ordinal), forgotten.Order(StringComparer.Ordinal));
        Assert.Null(await Store.GetMediaAsync(photo.Id));
        Assert.Null(await Store.GetMediaAsync(unused.Id));
        // What the chat shows stays for its members; someone else's upload is not touched.
        Assert.True(await Store.CanSeeMediaAsync(sent.Id, a.Id));
        Assert.NotNull(await Store.GetMediaAsync(others.Id));
        Assert.Empty(await Store.DeleteUserAsync(b.Id, Now()));
    }

    [StoreFact]
    public async Task Watermarks_only_move_forward_and_read_implies_delivered()
    {
        var a = await UserAsync();
        var b = await UserAsync();
        var chat = await DirectChatAsync(a, b);
        for (var i = 0; i < 5; i++) await SendAsync(chat, a, $"m{i}");

        Assert.True(await Store.AdvanceWatermarkAsync(chat, b.Id, 2, read: false, Now()));
        Assert.False(await Store.AdvanceWatermarkAsync(chat, b.Id, 1, read: false, Now()));
        Assert.True(await Store.AdvanceWatermarkAsync(chat, b.Id, 4, read: true, Now()));
        var member = (await Store.GetMemberAsync(chat, b.Id))!;
        Assert.Equal((4L, 4L), (member.DeliveredSeq, member.ReadSeq));

        Assert.False(await Store.AdvanceWatermarkAsync(chat, b.Id, 3, read: true, Now()));
        Assert.False(await Store.AdvanceWatermarkAsync(chat, b.Id, 4, read: false, Now()));
        // Beyond the newest message: clamped to it.
        Assert.True(await Store.AdvanceWatermarkAsync(chat, b.Id, 99, read: true, Now()));
        member = (await Store.GetMemberAsync(chat, b.Id))!;
        Assert.Equal((5L, 5L), (member.DeliveredSeq, member.ReadSeq));
        Assert.False(await Store.AdvanceWatermarkAsync(chat, a.Id + "x", 1, read: true, Now()));
    }

    [StoreFact]
    public async Task Unread_counts_only_messages_from_others_after_the_read_mark()
    {
        var a = await UserAsync();
        var b = await UserAsync();
        var chat = await DirectChatAsync(a, b);
        await SendAsync(chat, b, "1");
        await SendAsync(chat, b, "2");
        await SendAsync(chat, a, "3");
        await SendAsync(chat, b, "4");
        await SendAsync(chat, a, "5");

        var view = (await Store.GetChatViewAsync(chat, a.Id))!;
        Assert.Equal(3, Unread(view.Me, view.Chat));
        Assert.Equal("5", view.LastMessage?.Content);
        Assert.Equal(2, view.Members.Count);

        await Store.AdvanceWatermarkAsync(chat, a.Id, 2, read: true, Now());
        view = (await Store.GetChatViewAsync(chat, a.Id))!;
        Assert.Equal(1, Unread(view.Me, view.Chat));

        await Store.AdvanceWatermarkAsync(chat, a.Id, 5, read: true, Now());
        await SendAsync(chat, a, "6");
        view = (await Store.GetChatViewAsync(chat, a.Id))!;
        Assert.Equal(0, Unread(view.Me, view.Chat));
        var theirs = (await Store.ListChatsAsync(b.Id)).Single(v => v.Chat.Id == chat);
        Assert.Equal(3, Unread(theirs.Me, theirs.Chat));
    }

    [StoreFact]
    public async Task Sync_returns_every_event_after_a_cursor_in_order_and_pages_end_at_the_current_position()
    {
        var a = await UserAsync();
        var b = await UserAsync();
        var chat = await DirectChatAsync(a, b);
        var cursor = await Store.CurrentCursorAsync();
        var sent = new List<MessageRecord>();
        for (var i = 0; i < 9; i++) sent.Add(await SendAsync(chat, i % 3 == 0 ? b : a, $"m{i}"));
        await Store.AdvanceWatermarkAsync(chat, b.Id, 9, read: true, Now());

        var all = await SyncAllAsync(a.Id, cursor);
        Assert.Equal(all.Select(e => e.Pos).Order(), all.Select(e => e.Pos));
        Assert.All(all, e => Assert.False(cursor.Covers(e.Writer, e.Pos)));
        Assert.Equal(sent.Select(m => m.Id), all.Where(e => e.Kind == EventKind.Message).Select(e => e.Message!.Id));
        var status = Assert.Single(all, e => e.Kind == EventKind.Status);
        Assert.Equal(("read", b.Id, sent[^1].Id), (status.Status!.Status, status.Status.UserId, status.Status.MessageId));
        // b sent some of them, so b gets no status event for their own messages, only messages.
        Assert.DoesNotContain(await SyncAllAsync(b.Id, cursor), e => e.Kind == EventKind.Status);

        var paged = await SyncAllAsync(a.Id, cursor, limit: 2);
        Assert.Equal(all.Select(e => e.Pos), paged.Select(e => e.Pos));

        var end = await Store.SyncAsync(a.Id, cursor, 1000);
        Assert.False(end.HasMore);
        Assert.Equal(await Store.CurrentCursorAsync(), end.Cursor);
        Assert.Empty((await Store.SyncAsync(a.Id, end.Cursor, 1000)).Events);
    }

    [StoreFact]
    public async Task A_member_sees_a_group_from_when_they_joined_and_nothing_after_they_leave()
    {
        var admin = await UserAsync("Admin");
        var early = await UserAsync("Early");
        var late = await UserAsync("Late");
        var group = "group_" + Guid.NewGuid().ToString("N");
        await Store.CreateGroupAsync(group, "Team", "desc", admin.Id, [early.Id], Now());
        await SendAsync(group, early, "before");

        var change = await Store.AddMembersAsync(group, admin.Id, [late.Id], Now());
        Assert.Equal(GroupOutcome.Done, change.Outcome);
        Assert.Equal(new[] { admin.Id, early.Id, late.Id }.Order(StringComparer.Ordinal), change.Members.Order(StringComparer.Ordinal));
        await SendAsync(group, admin, "after");

        var lateEvents = await SyncAllAsync(late.Id, StreamCursor.Start);
        var lateMessages = lateEvents.Where(e => e.Kind == EventKind.Message).Select(e => e.Message!).ToList();
        Assert.DoesNotContain(lateMessages, m => m.Content == "before");
        Assert.Contains(lateMessages, m => m.Content == "after");
        Assert.Contains(lateMessages, m => m.SystemAction == SystemActions.MemberAdded && m.AffectedUserName == "Late");
        var earlyMessages = (await SyncAllAsync(early.Id, StreamCursor.Start)).Where(e => e.Kind == EventKind.Message).Select(e => e.Message!.Content ?? e.Message.SystemAction).ToList();
        Assert.Equal(["Team", "before", null, "after"], earlyMessages.Select(c => c == SystemActions.MemberAdded ? null : c));

        var beforeLeaving = await Store.CurrentCursorAsync();
        await SendAsync(group, admin, "last words");
        Assert.Equal(GroupOutcome.Done, (await Store.RemoveMemberAsync(group, late.Id, late.Id, Now())).Outcome);
        await SendAsync(group, admin, "gone");
        var afterLeaving = await SyncAllAsync(late.Id, beforeLeaving);
        Assert.Contains(afterLeaving, e => e.Kind == EventKind.ChatRemoved && e.ChatId == group);
        Assert.DoesNotContain(afterLeaving, e => e.Kind == EventKind.Message && e.Message!.Content == "gone");
        // What came before they left is still owed to a member who syncs from before it.
        Assert.Contains(afterLeaving, e => e.Kind == EventKind.Message && e.Message!.Content == "last words");
        Assert.Null(await Store.GetMemberAsync(group, late.Id));
    }

    [StoreFact]
    public async Task Group_admin_rules_hold()
    {
        var admin = await UserAsync();
        var member = await UserAsync();
        var outsider = await UserAsync();
        var group = "group_" + Guid.NewGuid().ToString("N");
        var chat = await Store.CreateGroupAsync(group, "G", null, admin.Id, [member.Id, admin.Id], Now());
        Assert.True(chat.IsGroup);
        Assert.Equal(1, chat.LastSeq);

        Assert.Equal(GroupOutcome.NotAdmin, (await Store.AddMembersAsync(group, member.Id, [outsider.Id], Now())).Outcome);
        Assert.Equal(GroupOutcome.NotFound, (await Store.AddMembersAsync(group, outsider.Id, [outsider.Id], Now())).Outcome);
        Assert.Equal(GroupOutcome.LastAdmin, await Store.SetAdminAsync(group, admin.Id, admin.Id, false, Now()));
        Assert.Equal(GroupOutcome.Done, await Store.SetAdminAsync(group, admin.Id, member.Id, true, Now()));
        Assert.Equal(GroupOutcome.Done, await Store.UpdateGroupInfoAsync(group, member.Id, "Renamed", null, Now()));
        Assert.Equal("Renamed", (await Store.GetChatAsync(group))!.Name);
        Assert.Equal(2, (await Store.GetChatAsync(group))!.LastSeq); // group_created, group_renamed

        // The last admin leaving hands the role to the longest-standing member.
        Assert.Equal(GroupOutcome.Done, await Store.SetAdminAsync(group, member.Id, admin.Id, false, Now()));
        Assert.Equal(GroupOutcome.Done, (await Store.RemoveMemberAsync(group, member.Id, member.Id, Now())).Outcome);
        Assert.True((await Store.GetMemberAsync(group, admin.Id))!.IsAdmin);
    }

    [StoreFact]
    public async Task An_expired_message_reads_back_only_as_its_tombstone_and_the_chat_shows_the_message_before_it()
    {
        var a = await UserAsync();
        var b = await UserAsync();
        var chat = await DirectChatAsync(a, b);
        var kept = await SendAsync(chat, a, "kept");
        var settings = await Store.UpdateChatSettingsAsync(chat, a.Id, new ChatSettingsChange(null, null, null, null, 86_400), Now());
        Assert.Equal(SettingsOutcome.Done, settings.Outcome);
        var cursor = await Store.CurrentCursorAsync();
        var fleeting = await SendAsync(chat, b, "fleeting");

        var expired = await Store.ExpireMessagesAsync(fleeting.Timestamp + 86_400_000 + 1, 100);

        Assert.Equal(1, expired.Count);
        Assert.Null(await Store.GetMessageAsync(fleeting.Id));
        var events = await SyncAllAsync(a.Id, cursor);
        // Nothing of the message is left to read: its deletion is the one event.
        var tombstone = Assert.Single(events);
        Assert.Equal(EventKind.MessageUpdated, tombstone.Kind);
        Assert.True(tombstone.Message!.Expired);
        Assert.Equal(fleeting.Id, tombstone.Message.Id);
        var view = await Store.GetChatViewAsync(chat, a.Id);
        var newestLeft = (await Store.GetMessagesAsync(chat, a.Id, 0, long.MaxValue, 50)).MaxBy(m => m.Pos);
        Assert.NotEqual(fleeting.Id, newestLeft!.Id);
        Assert.Equal(newestLeft.Id, view!.LastMessage?.Id);
        Assert.Equal(0, (await Store.ExpireMessagesAsync(fleeting.Timestamp + 86_400_000 + 1, 100)).Count);
        Assert.NotNull(await Store.GetMessageAsync(kept.Id));
    }

    [StoreFact]
    public async Task A_direct_chats_sender_syncs_its_statuses_each_after_the_messages_it_acknowledges()
    {
        var a = await UserAsync();
        var b = await UserAsync();
        var chat = await DirectChatAsync(a, b);
        var m1 = await SendAsync(chat, a, "1");
        var m2 = await SendAsync(chat, a, "2");
        var cursor = await Store.CurrentCursorAsync();

        Assert.True(await Store.AdvanceWatermarkAsync(chat, b.Id, m1.Seq, read: false, Now()));
        var afterDelivered = await Store.CurrentCursorAsync();
        var m3 = await SendAsync(chat, a, "3");
        Assert.True(await Store.AdvanceWatermarkAsync(chat, b.Id, m2.Seq, read: true, Now()));

        static string Describe(StoredEvent e) => e.Kind == EventKind.Status ? $"{e.Status!.Status} {e.Status.MessageId} by {e.Status.UserId}" : $"{e.Kind} {e.Message?.Id}";
        Assert.Equal([$"delivered {m1.Id} by {b.Id}", $"Message {m3.Id}", $"read {m2.Id} by {b.Id}"], (await SyncAllAsync(a.Id, cursor)).Select(Describe));
        Assert.Equal([$"Message {m3.Id}", $"read {m2.Id} by {b.Id}"], (await SyncAllAsync(a.Id, afterDelivered)).Select(Describe));
        // The reader's own marks are news to the sender only.
        Assert.Equal([$"Message {m3.Id}"], (await SyncAllAsync(b.Id, cursor)).Select(Describe));
    }

    [StoreFact]
    public async Task Receipts_record_one_status_event_per_sender_reached()
    {
        var reader = await UserAsync();
        var s1 = await UserAsync();
        var s2 = await UserAsync();
        var group = "group_" + Guid.NewGuid().ToString("N");
        await Store.CreateGroupAsync(group, "G", null, s1.Id, [s2.Id, reader.Id], Now());
        var m1 = await SendAsync(group, s1, "a");
        var m2 = await SendAsync(group, s2, "b");
        var m3 = await SendAsync(group, s1, "c");
        var cursor = await Store.CurrentCursorAsync();
        Published.Clear();

        Assert.True(await Store.AdvanceWatermarkAsync(group, reader.Id, m3.Seq, read: false, Now()));
        var statuses = Published.Where(e => e.Kind == EventKind.Status).ToList();
        Assert.Equal(2, statuses.Count);
        Assert.Equal(m3.Id, statuses.Single(e => e.Recipients.SequenceEqual([s1.Id])).Status!.MessageId);
        Assert.Equal(m2.Id, statuses.Single(e => e.Recipients.SequenceEqual([s2.Id])).Status!.MessageId);
        Assert.All(statuses, e => Assert.Equal("delivered", e.Status!.Status));
        Assert.Equal([m2.Id], (await SyncAllAsync(s2.Id, cursor)).Where(e => e.Kind == EventKind.Status).Select(e => e.Status!.MessageId));
        Assert.Equal([m3.Id], (await SyncAllAsync(s1.Id, cursor)).Where(e => e.Kind == EventKind.Status).Select(e => e.Status!.MessageId));
        Assert.DoesNotContain(await SyncAllAsync(reader.Id, cursor), e => e.Kind == EventKind.Status);
        Assert.NotEqual(m1.Id, m3.Id);

        // A read mark later: each sender gets it after the delivered one, one page at a time too.
        var afterDelivered = await Store.CurrentCursorAsync();
        Assert.True(await Store.AdvanceWatermarkAsync(group, reader.Id, m2.Seq, read: true, Now()));
        var s1Statuses = (await SyncAllAsync(s1.Id, cursor, limit: 1)).Where(e => e.Kind == EventKind.Status).Select(e => (e.Status!.Status, e.Status.MessageId));
        Assert.Equal([("delivered", m3.Id), ("read", m1.Id)], s1Statuses);
        Assert.Equal([("read", m2.Id)], (await SyncAllAsync(s2.Id, afterDelivered)).Where(e => e.Kind == EventKind.Status).Select(e => (e.Status!.Status, e.Status.MessageId)));
    }

    /// <summary>Two new users and the 1:1 chat between them, straight through the store.</summary>
    protected async Task<(string A, string B, string Chat)> TwoUsersInADirectChatAsync()
    {
        var a = Guid.NewGuid().ToString();
        var b = Guid.NewGuid().ToString();
        foreach (var id in new[] { a, b })
        {
            await Store.CreateUserAsync(new UserRecord(id, id + "@example.com", null, "U", null, null, null, "hash", true, 1, 0));
        }
        var chat = string.CompareOrdinal(a, b) < 0 ? $"chat_{a}_{b}" : $"chat_{b}_{a}";
        await Store.GetOrCreateDirectChatAsync(chat, a, b, 1);
        return (a, b, chat);
    }
}

public sealed partial class SqliteStoreContractTests : StoreContractTests
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "parley-tests", Guid.NewGuid().ToString("N"));

    protected override Task<Dictionary<string, string?>> BackendSettingsAsync() => Task.FromResult(new Dictionary<string, string?>
    {
        ["Parley:Storage:Provider"] = "Sqlite",
        ["Parley:DataDirectory"] = _directory,
    });

    protected override Task DropBackendAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { /* best effort */ }
        return Task.CompletedTask;
    }

    /// <summary>Sends share the writer's transaction; one that fails half way (its chat's seq and a
    /// position already taken, then a NOT NULL column refused) must fail alone and leave no trace.</summary>
    [StoreFact]
    public async Task A_send_that_fails_half_way_in_a_batch_of_sends_fails_alone_and_leaves_no_gap()
    {
        var (a, b, chat) = await TwoUsersInADirectChatAsync();

        var sends = Enumerable.Range(0, 40).Select(i => Store.SendMessageAsync(
            new NewMessage(chat, a, i == 20 ? null! : MessageTypes.Text, $"m{i}", null, null, null, 2), null)).ToList();
        await Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => sends[20]);
        var stored = await Task.WhenAll(sends.Where((_, i) => i != 20));
        Assert.All(stored, r => Assert.Equal(SendOutcome.Stored, r.Outcome));
        Assert.Equal(Enumerable.Range(1, 39).Select(i => (long)i), stored.Select(r => r.Message!.Seq).Order());
        // Positions too: the failed send's was handed out again, so the stream has no hole.
        var positions = stored.Select(r => r.Message!.Pos).Order().ToList();
        Assert.Equal(Enumerable.Range(0, 39).Select(i => positions[0] + i), positions);
        var history = await Store.GetMessagesAsync(chat, b, 0, long.MaxValue, 100);
        Assert.Equal(39, history.Count);
        Assert.DoesNotContain(history, m => m.Content == "m20");
    }

    /// <summary>The sends' keys reach their table a chunk of positions at a time, behind a watermark;
    /// before that the writer holds them in memory. A retry finds its original on either side, and
    /// one sent in the same batch as its original finds it too.</summary>
    [StoreFact]
    public async Task A_retry_finds_its_original_before_and_after_its_key_is_written_to_its_table()
    {
        var (a, b, chat) = await TwoUsersInADirectChatAsync();
        Task<SendResult> Send(string sender, string content, string key) =>
            Store.SendMessageAsync(new NewMessage(chat, sender, MessageTypes.Text, content, key, null, null, 2), null);

        var first = (await Send(a, "first", "k-first")).Message!;
        var inMemory = await Send(a, "first again", "k-first");
        Assert.Equal((SendOutcome.Duplicate, first.Id), (inMemory.Outcome, inMemory.Message!.Id));

        // Enough sends to pass the chunk, queued at once (so in batches); one key twice in a row.
        const int chunk = Parley.Server.Storage.Sqlite.SqliteClientIds.Chunk;
        var sends = Enumerable.Range(0, chunk + 99)
            .SelectMany(i => i == 5000
                ? new[] { Send(a, "m5000", "k-twice"), Send(a, "m5000 again", "k-twice") }
                : [Send(i % 2 == 0 ? a : b, $"m{i}", $"k-{i}")])
            .ToList();
        var results = await Task.WhenAll(sends);
        Assert.Equal(chunk + 99, results.Count(r => r.Outcome == SendOutcome.Stored));
        var twice = results.Where(r => r.Message!.ClientMessageId == "k-twice").ToList();
        Assert.Equal([SendOutcome.Stored, SendOutcome.Duplicate], twice.Select(r => r.Outcome).Order());
        Assert.Single(twice.Select(r => r.Message!.Id).Distinct());

        // The chunk reaches the table a slice a batch: sends one at a time (a batch each) until it
        // is whole. A send after that waits for the next chunk. So the first key is in the table
        // now, and the last one is not yet.
        var slices = await SendUntilIndexedAsync("client_ids_indexed", first.Pos, i => Send(a, $"slice {i}", $"k-slice-{i}"));
        var last = (await Send(b, "the last", "k-last")).Message!;
        await using (var file = await OpenFileAsync())
        {
            using var seedQuery = file.CreateCommand();
            seedQuery.CommandText = "SELECT hash_seed FROM client_ids_indexed";
            var seed = (long)seedQuery.ExecuteScalar()!;
            long? StoredPos(string sender, string key)
            {
                using var command = file.CreateCommand();
                command.CommandText = "SELECT pos FROM client_keys WHERE key_hash = $hash";
                command.Parameters.AddWithValue("$hash", Parley.Server.Storage.Sqlite.SqliteClientIds.KeyHash(seed, chat, sender, key));
                return command.ExecuteScalar() as long?;
            }
            Assert.Equal(first.Pos, StoredPos(a, "k-first"));
            Assert.Null(StoredPos(last.SenderId, last.ClientMessageId!));
        }

        foreach (var (sender, original) in new[] { (a, first), (last.SenderId, last) })
        {
            var retry = await Send(sender, "again", original.ClientMessageId!);
            Assert.Equal((SendOutcome.Duplicate, original.Id), (retry.Outcome, retry.Message!.Id));
        }
        // The key is the sender's: the other member's same key is a new message.
        Assert.Equal(SendOutcome.Stored, (await Send(b, "mine", "k-first")).Outcome);
        Assert.Equal(chunk + 102 + slices, (await Store.GetChatAsync(chat))!.LastSeq);
    }

    /// <summary>A chat's positions reach their table a chunk at a time, behind a watermark; the
    /// newer ones are held in memory. History, sync, receipts and the export read both halves as one:
    /// every message once, in order, and nothing of another chat.</summary>
    [StoreFact]
    public async Task A_chats_messages_are_read_whole_on_both_sides_of_the_watermark_of_its_positions()
    {
        var (a, b, chat) = await TwoUsersInADirectChatAsync();
        var (c, _, other) = await TwoUsersInADirectChatAsync();
        var start = await Store.CurrentCursorAsync();
        async Task<MessageRecord> Send(string chatId, string sender, string content) =>
            (await Store.SendMessageAsync(new NewMessage(chatId, sender, MessageTypes.Text, content, null, null, null, 2), null)).Message!;

        var sent = new List<MessageRecord>();
        for (var i = 0; i < 3; i++) sent.Add(await Send(chat, i % 2 == 0 ? a : b, $"before {i}"));
        // A chunk of sends to another chat, queued at once (so in batches), then one at a time
        // until the chunk's slices are all written, moves the watermark past the first three.
        await Task.WhenAll(Enumerable.Range(0, Parley.Server.Storage.Sqlite.SqliteChatPositions.Chunk).Select(i => Send(other, c, $"filler {i}")));
        await SendUntilIndexedAsync("chat_positions_indexed", sent[^1].Pos, i => Send(other, c, $"slice {i}"));
        for (var i = 0; i < 3; i++) sent.Add(await Send(chat, i % 2 == 0 ? a : b, $"after {i}"));

        await using (var file = await OpenFileAsync())
        {
            using var command = file.CreateCommand();
            command.CommandText = "SELECT pos FROM chat_positions WHERE chat_id = $chat ORDER BY pos";
            command.Parameters.AddWithValue("$chat", chat);
            var inTable = new List<long>();
            await using (var reader = await command.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync()) inTable.Add(reader.GetInt64(0));
            }
            Assert.Equal(sent.Take(3).Select(m => m.Pos), inTable);
        }

        // History, two at a time from the newest, one of the old ones hidden from b.
        Assert.Equal(ChangeOutcome.Done, await Store.HideMessageAsync(sent[1].Id, b));
        var history = new List<MessageRecord>();
        for (var before = long.MaxValue; ;)
        {
            var page = await Store.GetMessagesAsync(chat, b, 0, before, 2);
            history.AddRange(page);
            if (page.Count < 2) break;
            before = page[^1].Pos;
        }
        Assert.Equal(sent.Where(m => m.Id != sent[1].Id).Select(m => m.Id).Reverse(), history.Select(m => m.Id));

        // Sync, two events a page: the chat's messages in order; none of the other chat.
        var synced = (await SyncAllAsync(b, start, limit: 2)).Where(e => e.Kind == EventKind.Message).Select(e => e.Message!.Id);
        Assert.Equal(sent.Select(m => m.Id), synced);

        // A read up to the third message (in the table) leaves unread exactly b's messages after it.
        Assert.True(await Store.AdvanceWatermarkAsync(chat, a, sent[2].Seq, read: true, Now()));
        var chatRecord = (await Store.GetChatAsync(chat))!;
        Assert.Equal(sent.Skip(3).Count(m => m.SenderId == b), Unread((await Store.GetMemberAsync(chat, a))!, chatRecord));
        Assert.True(await Store.AdvanceWatermarkAsync(chat, b, sent[^1].Seq, read: true, Now()));
        Assert.Equal(0, Unread((await Store.GetMemberAsync(chat, b))!, chatRecord));

        // The export's own messages, oldest first, one at a time.
        var own = new List<MessageRecord>();
        for (long after = 0; (await Store.GetOwnMessagesAsync(a, chat, after, 1)) is [var next]; after = next.Pos) own.Add(next);
        Assert.Equal(sent.Where(m => m.SenderId == a).Select(m => m.Id), own.Select(m => m.Id));
    }
}

public sealed class PostgresStoreContractTests : StoreContractTests, IRequiresPostgres
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "parley-tests", Guid.NewGuid().ToString("N"));
    private string? _database;

    protected override async Task<Dictionary<string, string?>> BackendSettingsAsync()
    {
        _database = await TestPostgres.CreateDatabaseAsync();
        return new Dictionary<string, string?>
        {
            ["Parley:Storage:Provider"] = "Postgres",
            ["Parley:Storage:ConnectionString"] = TestPostgres.ConnectionStringFor(_database),
            ["Parley:DataDirectory"] = _directory,
        };
    }

    protected override async Task DropBackendAsync()
    {
        if (_database is not null) await TestPostgres.DropDatabaseAsync(_database);
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { /* best effort */ }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(17)]
    public void A_writer_count_out_of_range_is_refused_at_start_with_the_setting_named(int writers)
    {
        var options = Microsoft.Extensions.Options.Options.Create(new Parley.Server.Configuration.ParleyOptions());
        options.Value.Storage.ConnectionString = "Host=127.0.0.1;Database=unused";
        options.Value.Storage.Writers = writers;
        var refused = Assert.Throws<InvalidOperationException>(() => new Parley.Server.Storage.Postgres.PostgresDatabase(
            options, new EventStream(), null!, Microsoft.Extensions.Logging.Abstractions.NullLogger<Parley.Server.Storage.Postgres.PostgresDatabase>.Instance));
        Assert.Contains("Parley:Storage:Writers must be between 1 and 16", refused.Message);
    }

    /// <summary>Sends are pipelined without savepoints; one that fails (PostgreSQL refuses a NUL
    /// character in text) must fail alone, after the batch is rerun one operation at a time.</summary>
    [StoreFact]
    public async Task A_failing_send_in_a_pipelined_run_fails_alone()
    {
        var (a, _, chat) = await TwoUsersInADirectChatAsync();

        var sends = Enumerable.Range(0, 40).Select(i => Store.SendMessageAsync(
            new NewMessage(chat, a, MessageTypes.Text, i == 20 ? "bad \0 byte" : $"m{i}", null, null, null, 2), null)).ToList();
        await Assert.ThrowsAnyAsync<Npgsql.PostgresException>(() => sends[20]);
        var stored = await Task.WhenAll(sends.Where((_, i) => i != 20));
        Assert.All(stored, r => Assert.Equal(SendOutcome.Stored, r.Outcome));
        Assert.Equal(Enumerable.Range(1, 39).Select(i => (long)i), stored.Select(r => r.Message!.Seq).Order());
    }
}

public sealed class DynamoStoreContractTests : StoreContractTests, IRequiresDynamo
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "parley-tests", Guid.NewGuid().ToString("N"));

    protected override Task<Dictionary<string, string?>> BackendSettingsAsync()
    {
        var settings = TestDynamo.Settings(TestDynamo.NewPrefix());
        settings["Parley:DataDirectory"] = _directory;
        return Task.FromResult(settings);
    }

    protected override Task DropBackendAsync()
    {
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { /* best effort */ }
        return Task.CompletedTask;
    }
}
