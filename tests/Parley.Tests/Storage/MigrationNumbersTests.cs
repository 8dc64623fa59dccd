using Parley.Server.Storage;

namespace Parley.Tests.Storage;

/// <summary>Migration steps are numbered by place unless a step carries its number; steps added
/// before a numbered one later take the numbers below it.</summary>
public sealed class MigrationNumbersTests
{
    private static int?[] ByPlace(int count) => new int?[count];

    [Fact]
    public void A_step_with_its_own_number_keeps_it_whatever_comes_before_it()
    {
        Assert.Equal([1, 2, 3, 14], MigrationNumbers.Assign([.. ByPlace(3), 14]));
        Assert.Equal([.. Enumerable.Range(1, 10), 14], MigrationNumbers.Assign([.. ByPlace(10), 14]));
        // Three steps added before it later: 11, 12, 13, and it is still 14; the next one is 15.
        Assert.Equal([.. Enumerable.Range(1, 15)], MigrationNumbers.Assign([.. ByPlace(13), 14, null]));
    }

    [Fact]
    public void Numbers_must_rise()
    {
        Assert.Throws<InvalidOperationException>(() => MigrationNumbers.Assign([.. ByPlace(14), 14]));
        Assert.Throws<InvalidOperationException>(() => MigrationNumbers.Assign([null, null, 1]));
    }
}
