using Amazon.DynamoDBv2.Model;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>
/// How a user is laid out in its <c>Users</c> item: <c>userId, email, phoneNumber, name,
/// searchName</c> (the name in lower case, what search compares), <c>about, avatar, photoMediaId,
/// passwordHash, confirmed, createdAt, lastSeen</c>, and once set <c>deletedAt</c> (items written
/// before revocations had their own records may also carry an unused <c>sessionsRevokedAt</c>). An
/// address is owned through its claim in <c>Records</c> (<see cref="EmailClaim"/>,
/// <see cref="PhoneClaim"/>); the item still carries it for the indexes.
/// </summary>
internal static class UserItems
{
    public const string Email = "email";
    public const string Phone = "phoneNumber";

    public static string SearchKey(string name) => name.ToLowerInvariant();

    public static Dictionary<string, AttributeValue> Key(string userId) => Item.Key("userId", userId);

    public static UserRecord User(Dictionary<string, AttributeValue> i) => new(
        i.Str("userId"), i.StrOrNull(Email), i.StrOrNull(Phone), i.Str("name"), i.StrOrNull("about"), i.StrOrNull("avatar"),
        i.StrOrNull("photoMediaId"), i.Str("passwordHash"), i.Bool("confirmed"), i.Long("createdAt"), i.Long("lastSeen"));

    public static Dictionary<string, AttributeValue> UserItem(UserRecord u) => new Dictionary<string, AttributeValue>
    {
        ["userId"] = Item.S(u.Id),
        ["name"] = Item.S(u.Name),
        ["searchName"] = Item.S(SearchKey(u.Name)),
        ["passwordHash"] = Item.S(u.PasswordHash),
        ["confirmed"] = Item.B(u.Confirmed),
        ["createdAt"] = Item.N(u.CreatedAt),
        ["lastSeen"] = Item.N(u.LastSeen),
    }
        .With(Email, u.Email).With(Phone, u.PhoneNumber).With("about", u.About).With("avatar", u.Avatar).With("photoMediaId", u.PhotoMediaId);

    public static bool IsDeleted(Dictionary<string, AttributeValue> i) => i.ContainsKey("deletedAt");

    /// <summary>The <c>Records</c> item that says which user owns an email address.</summary>
    public static Dictionary<string, AttributeValue> EmailClaim(string email) => Item.Record("email#" + email, "-");

    public static Dictionary<string, AttributeValue> PhoneClaim(string phoneNumber) => Item.Record("phone#" + phoneNumber, "-");
}
