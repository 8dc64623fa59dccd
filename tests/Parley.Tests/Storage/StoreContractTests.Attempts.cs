namespace Parley.Tests.Storage;

public abstract partial class StoreContractTests
{
    [StoreFact]
    public async Task Attempts_are_taken_until_the_allowance_is_used_and_a_new_window_starts_afresh()
    {
        var key = Guid.NewGuid().ToString("N");
        var start = Now();

        Assert.Null(await Store.TakeAttemptAsync(key, start, 1_000, 2));
        Assert.Null(await Store.TakeAttemptAsync(key, start + 10, 1_000, 2));
        Assert.Equal(start + 1_000, await Store.TakeAttemptAsync(key, start + 20, 1_000, 2));

        await Store.ReturnAttemptAsync(key);
        Assert.Null(await Store.TakeAttemptAsync(key, start + 30, 1_000, 2));
        Assert.Null(await Store.TakeAttemptAsync(key, start + 1_000, 1_000, 2));
    }

    [StoreFact]
    public async Task Spent_attempts_are_refused_for_the_rest_of_the_window_and_spent_only_once()
    {
        var key = Guid.NewGuid().ToString("N");
        var other = Guid.NewGuid().ToString("N");
        var start = Now();

        // Nothing to spend before the first attempt opens a window.
        Assert.False(await Store.SpendAttemptsAsync(key, start, 1_000));
        Assert.Null(await Store.TakeAttemptAsync(key, start, 1_000, 5));
        Assert.Null(await Store.TakeAttemptAsync(other, start, 1_000, 5));

        Assert.True(await Store.SpendAttemptsAsync(key, start + 10, 1_000));
        Assert.False(await Store.SpendAttemptsAsync(key, start + 20, 1_000));
        Assert.Equal(start + 1_000, await Store.TakeAttemptAsync(key, start + 30, 1_000, 5));
        Assert.Equal(start + 1_000, await Store.TakeAttemptAsync(key, start + 40, 1_000, 1_000));
        // Giving one back does not reopen it.
        await Store.ReturnAttemptAsync(key);
        Assert.NotNull(await Store.TakeAttemptAsync(key, start + 50, 1_000, 5));
        // Another key is untouched.
        Assert.Null(await Store.TakeAttemptAsync(other, start + 60, 1_000, 5));

        // A window that has ended cannot be spent; the next attempt starts a new one.
        Assert.False(await Store.SpendAttemptsAsync(other, start + 1_000, 1_000));
        Assert.Null(await Store.TakeAttemptAsync(key, start + 1_000, 1_000, 5));
        Assert.True(await Store.SpendAttemptsAsync(key, start + 1_001, 1_000));
    }

    [StoreFact]
    public async Task Of_concurrent_spends_of_one_window_exactly_one_succeeds()
    {
        var key = Guid.NewGuid().ToString("N");
        var start = Now();
        Assert.Null(await Store.TakeAttemptAsync(key, start, 60_000, 5));

        var spends = await Task.WhenAll(Enumerable.Range(1, 8).Select(i => Store.SpendAttemptsAsync(key, start + i, 60_000)));

        Assert.Single(spends, spent => spent);
    }
}
