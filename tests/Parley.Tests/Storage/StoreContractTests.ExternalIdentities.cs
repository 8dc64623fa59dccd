using Parley.Server.Storage;

namespace Parley.Tests.Storage;

public abstract partial class StoreContractTests
{
    private UserRecord ExternalUser(string name, string? email = null, string? phone = null) =>
        new(Guid.NewGuid().ToString(), email, phone, name, null, "EX", null, "!external", true, Now(), 0);

    [StoreFact]
    public async Task An_external_subject_maps_to_one_user_even_when_added_concurrently()
    {
        const string issuer = "https://issuer.example/pool";
        var subject = Guid.NewGuid().ToString();
        Assert.Null(await Store.FindExternalIdentityAsync(issuer, subject));

        var candidates = Enumerable.Range(0, 8).Select(i => ExternalUser("Candidate " + i)).ToList();
        var results = await Task.WhenAll(candidates.Select(c => Store.AddExternalUserAsync(issuer, subject, c)));

        var winner = Assert.Single(results.Select(r => r.UserId).Distinct());
        Assert.Contains(candidates, c => c.Id == winner);
        Assert.Equal(new ExternalIdentityRecord(winner, false), await Store.FindExternalIdentityAsync(issuer, subject));
        // Only the winner was created; the same subject at another issuer is someone else.
        Assert.Single(await Store.GetUsersAsync(candidates.Select(c => c.Id).ToList()));
        Assert.Null(await Store.FindExternalIdentityAsync(issuer + "/other", subject));
    }

    [StoreFact]
    public async Task An_external_user_never_gets_an_email_or_phone_another_account_owns()
    {
        var local = await UserAsync("Local");
        var phone = "+1555" + Random.Shared.Next(1_000_000, 9_999_999);
        var withPhone = ExternalUser("Phone Owner", phone: phone);
        await Store.AddExternalUserAsync("https://a.example", Guid.NewGuid().ToString(), withPhone);

        var claimer = ExternalUser("Claimer", local.Email, phone);
        var added = await Store.AddExternalUserAsync("https://b.example", Guid.NewGuid().ToString(), claimer);

        Assert.Equal(claimer.Id, added.UserId);
        var stored = (await Store.GetUserAsync(claimer.Id))!;
        Assert.Null(stored.Email);
        Assert.Null(stored.PhoneNumber);
        Assert.Equal(local.Id, (await Store.FindUserByEmailAsync(local.Email!))!.Id);
        Assert.Equal(withPhone.Id, (await Store.FindUserByPhoneAsync(phone))!.Id);
    }

    [StoreFact]
    public async Task A_deleted_external_users_mapping_says_so()
    {
        var subject = Guid.NewGuid().ToString();
        var user = ExternalUser("Soon Gone", $"{Guid.NewGuid():N}@example.com");
        await Store.AddExternalUserAsync("https://issuer.example", subject, user);

        await Store.DeleteUserAsync(user.Id, Now());

        Assert.Equal(new ExternalIdentityRecord(user.Id, true), await Store.FindExternalIdentityAsync("https://issuer.example", subject));
    }
}
