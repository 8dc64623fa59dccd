using Amazon.DynamoDBv2.Model;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>
/// What reaches across accounts and chats: contacts, profile photos (<c>pk = "photo#" + mediaId</c>
/// per profile showing one, so every user may download it), and deleting an account.
/// </summary>
internal sealed partial class DynamoStore
{
    public async Task<IReadOnlyList<UserRecord>> SearchContactsAsync(string userId, string? search, string? exact, string? afterName, string? afterId, int limit)
    {
        var ids = (await GetContactsAsync(userId).ConfigureAwait(false)).ToHashSet(StringComparer.Ordinal);
        var contacts = (await db.GetManyAsync(db.Users, ids.Select(UserItems.Key)).ConfigureAwait(false))
            .Where(i => !UserItems.IsDeleted(i) && Contains(i, search)).ToList();
        if (exact is not null)
        {
            foreach (var found in new[] { await FindUserByEmailAsync(exact).ConfigureAwait(false), await FindUserByPhoneAsync(exact).ConfigureAwait(false) })
            {
                if (found is null || found.Id == userId || contacts.Any(c => c.Str("userId") == found.Id)) continue;
                if (await db.GetAsync(db.Users, UserItems.Key(found.Id)).ConfigureAwait(false) is { } item && !UserItems.IsDeleted(item)) contacts.Add(item);
            }
        }
        return PageByName(contacts, afterName, afterId, limit);
    }

    private static bool Contains(Dictionary<string, AttributeValue> user, string? search)
    {
        if (string.IsNullOrEmpty(search)) return true;
        var lower = search.ToLowerInvariant();
        return (user.StrOrNull("searchName") ?? "").Contains(lower, StringComparison.Ordinal)
            || (user.StrOrNull(UserItems.Email) ?? "").Contains(lower, StringComparison.Ordinal);
    }

    public async Task<(UserRecord? User, string? Forgotten)> SetPhotoAsync(string userId, string mediaId)
    {
        var before = await db.GetAsync(db.Users, UserItems.Key(userId)).ConfigureAwait(false);
        if (before is null || UserItems.IsDeleted(before)) return (before is null ? null : UserItems.User(before), null);
        // The new photo is shown before the profile names it, and the old one hidden after.
        await db.PutAsync(db.Records, Item.Record("photo#" + mediaId, userId)).ConfigureAwait(false);
        var after = await db.UpdateAsync(db.Users, UserItems.Key(userId), "SET photoMediaId = :m", "attribute_exists(userId) AND attribute_not_exists(deletedAt)",
            new() { [":m"] = Item.S(mediaId) }, returnNew: true).ConfigureAwait(false);
        if (after is null) return (await GetUserAsync(userId).ConfigureAwait(false), null);
        var previous = before.StrOrNull("photoMediaId");
        string? forgotten = null;
        if (previous is not null && previous != mediaId)
        {
            await db.DeleteAsync(db.Records, Item.Record("photo#" + previous, userId)).ConfigureAwait(false);
            if ((await GetMediaAsync(previous).ConfigureAwait(false))?.UploaderId == userId && await ForgetUnusedMediaAsync(previous).ConfigureAwait(false))
            {
                forgotten = previous;
            }
        }
        return (UserItems.User(after), forgotten);
    }

    public async Task<IReadOnlyList<string>> DeleteUserAsync(string userId, long now)
    {
        var item = await db.GetAsync(db.Users, UserItems.Key(userId)).ConfigureAwait(false);
        if (item is null) return [];
        var user = UserItems.User(item);
        // Others stop seeing the photo first: the update below takes its id off the profile, and
        // a retry of the client's after a failure in between finds it there still.
        if (user.PhotoMediaId is { } photo) await db.DeleteAsync(db.Records, Item.Record("photo#" + photo, userId)).ConfigureAwait(false);
        await db.UpdateAsync(db.Users, UserItems.Key(userId),
            "SET #n = :name, searchName = :empty, passwordHash = :none, deletedAt = :now REMOVE email, phoneNumber, about, avatar, photoMediaId",
            "attribute_exists(userId)",
            new() { [":name"] = Item.S(AccountNames.Deleted), [":empty"] = Item.S(""), [":none"] = Item.S(AccountNames.DeletedPasswordHash), [":now"] = Item.N(now) },
            new() { ["#n"] = "name" }).ConfigureAwait(false);
        // Recorded before the sessions end: should a later step fail, the client can no longer
        // retry, and the sweep finishes the deletion instead (see FinishAccountDeletionsAsync).
        await db.PutAsync(db.Records, DeletionUnderWayKey(userId)).ConfigureAwait(false);
        await ReleaseClaimsAsync(AddressClaim.Of(user), userId).ConfigureAwait(false);
        return await FinishDeletionAsync(userId, now).ConfigureAwait(false);
    }

    /// <summary>The deletions that a failure or a stop left under way (recorded under one key, so a
    /// query finds them all): each runs again from where the sessions end, every step of which
    /// changes nothing already done.</summary>
    public async Task<DeletionsFinished> FinishAccountDeletionsAsync(long now)
    {
        var pending = await QueryRecordsAsync(DeletionsUnderWayPk).ConfigureAwait(false);
        var forgotten = new List<string>();
        foreach (var record in pending) forgotten.AddRange(await FinishDeletionAsync(record.Str("sk"), now).ConfigureAwait(false));
        return new(pending.Count, forgotten);
    }

    /// <summary>A deletion's steps once the account is anonymized and its record of a deletion under
    /// way written: its sessions end, its codes and blocks go, its name leaves the messages, and
    /// its uploads that no chat shows are forgotten (the photo was its profile's only use); returns
    /// those, whose bytes go next. Ends by deleting the record.</summary>
    private async Task<IReadOnlyList<string>> FinishDeletionAsync(string userId, long now)
    {
        await RevokeAllSessionsAsync(userId, now).ConfigureAwait(false);
        foreach (var code in await QueryRecordsAsync("code#" + userId).ConfigureAwait(false))
        {
            await db.DeleteAsync(db.Records, Item.Record(code.Str("pk"), code.Str("sk"))).ConfigureAwait(false);
        }
        foreach (var blocked in await QueryRecordsAsync("blocks#" + userId).ConfigureAwait(false))
        {
            await SetBlockedAsync(userId, blocked.Str("sk"), false, now).ConfigureAwait(false);
        }
        foreach (var blocker in await QueryRecordsAsync("blockedby#" + userId).ConfigureAwait(false))
        {
            await SetBlockedAsync(blocker.Str("sk"), userId, false, now).ConfigureAwait(false);
        }
        await RenameSentMessagesAsync(userId).ConfigureAwait(false);
        var forgotten = new List<string>();
        foreach (var upload in await QueryRecordsAsync("uploads#" + userId).ConfigureAwait(false))
        {
            var mediaId = upload.Str("sk");
            if ((await GetMediaAsync(mediaId).ConfigureAwait(false))?.UploaderId == userId
                && await ForgetUnusedMediaAsync(mediaId).ConfigureAwait(false)) forgotten.Add(mediaId);
            await db.DeleteAsync(db.Records, Item.Record(upload.Str("pk"), mediaId)).ConfigureAwait(false);
        }
        await db.DeleteAsync(db.Records, DeletionUnderWayKey(userId)).ConfigureAwait(false);
        return forgotten;
    }

    /// <summary>The partition of the records of deletions under way. Named for what it first held
    /// (the renames alone), which records written before still carry.</summary>
    private const string DeletionsUnderWayPk = "namescrubs";

    private static Dictionary<string, AttributeValue> DeletionUnderWayKey(string userId) => Item.Record(DeletionsUnderWayPk, userId);

    /// <summary>Its name leaves the messages: those it sent show "Deleted account" (a
    /// <c>disappearing_messages</c> one stored with its name in front keeps only the description),
    /// and so do the system messages that name it as the member added, removed or left (recorded by
    /// id; those stored before the id was recorded cannot be matched). Every chat it was ever in is
    /// read for them: a system message naming it is in one of those, and there is no index by
    /// sender or by affected member (deleting an account is rare, sends are not). Written over in
    /// the store, not looked up when read, so the old name does not stay stored.
    /// <para>
    /// Each chat is first written once through its lane (<c>namesLeftAt</c>), which waits for the
    /// chat's last taken position to hold its message and gives the chat item a new revision. The
    /// profile was anonymized before, so a message that read the old name either took its position
    /// before this write (and is stored by the time the chat is read below) or read the chat item
    /// before it and finds the revision changed, and so starts again and reads "Deleted account".
    /// </para></summary>
    private async Task RenameSentMessagesAsync(string userId)
    {
        foreach (var chatId in await GetChatIdsEverJoinedAsync(userId).ConfigureAwait(false))
        {
            await WriteChatAsync(chatId, false, w =>
            {
                w.ChatChanges["namesLeftAt"] = Item.N(NowMs());
                return Task.FromResult(true);
            }).ConfigureAwait(false);
            var naming = await db.QueryAsync(new QueryRequest
            {
                TableName = db.Messages,
                KeyConditionExpression = "chatId = :c",
                FilterExpression = "kind = :m AND (senderId = :u OR affectedUserId = :u)",
                ExpressionAttributeValues = new() { [":c"] = Item.S(chatId), [":m"] = Item.S(ChatItems.EventKinds.Message), [":u"] = Item.S(userId) },
                ExpressionAttributeNames = new() { ["#content"] = "content" },
                ProjectionExpression = "chatId, pos, senderId, affectedUserId, systemAction, #content",
            }).ConfigureAwait(false);
            foreach (var message in naming)
            {
                var key = Item.Key("chatId", chatId, "pos", message.Long("pos"));
                var values = new Dictionary<string, AttributeValue> { [":name"] = Item.S(AccountNames.Deleted) };
                var sets = new List<string>();
                var removes = new List<string>();
                if (message.StrOrNull("senderId") == userId)
                {
                    sets.Add("senderName = :name");
                    removes.Add("senderAvatar");
                    if (message.StrOrNull("systemAction") == SystemActions.DisappearingMessages
                        && message.StrOrNull("content") is { } content && DisappearTimers.Unnamed(content) is var unnamed && unnamed != content)
                    {
                        if (unnamed is not null)
                        {
                            sets.Add("#content = :unnamed");
                            values[":unnamed"] = Item.S(unnamed);
                        }
                        else removes.Add("#content");
                    }
                }
                if (message.StrOrNull("affectedUserId") == userId) sets.Add("affectedUserName = :name");
                var update = "SET " + string.Join(", ", sets) + (removes.Count > 0 ? " REMOVE " + string.Join(", ", removes) : "");
                await db.UpdateAsync(db.Messages, key, update, "attribute_exists(chatId)", values,
                    update.Contains("#content", StringComparison.Ordinal) ? new() { ["#content"] = "content" } : null).ConfigureAwait(false);
            }
        }
    }
}
