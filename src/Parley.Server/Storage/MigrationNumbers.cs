namespace Parley.Server.Storage;

/// <summary>Numbers the migration steps of a backend. A step is numbered by its place (the one
/// before it plus one) unless it carries its own number. A step written while other steps were
/// still being written elsewhere carries its number, so the steps merged in before it later keep
/// theirs and databases agree on what each number means. Numbers must rise; a missing number is
/// simply never applied (a database past it would not take a step added there later, which is why
/// a released list has no gaps).</summary>
internal static class MigrationNumbers
{
    public static int[] Assign(IReadOnlyList<int?> ownNumbers)
    {
        var numbers = new int[ownNumbers.Count];
        var previous = 0;
        for (var i = 0; i < ownNumbers.Count; i++)
        {
            var number = ownNumbers[i] ?? previous + 1;
            if (number <= previous)
            {
                throw new InvalidOperationException(
                    $"Migration step {i + 1} in the list has number {number}, not above the previous step's {previous}: numbers must rise.");
            }
            numbers[i] = number;
            previous = number;
        }
        return numbers;
    }
}
