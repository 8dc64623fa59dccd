using System.Collections.Concurrent;
using Parley.Server.Storage.Rules;

namespace Parley.Tests.Storage.Rules;

public class MessageIdsTests
{
    [Fact]
    public void An_id_is_a_version_7_uuid_that_carries_its_creation_time()
    {
        var at = DateTimeOffset.Parse("2026-12-02T12:34:56.789Z").ToUnixTimeMilliseconds();

        var id = MessageIds.New(at);

        Assert.StartsWith("msg_", id);
        var uuid = Guid.Parse(id["msg_".Length..]);
        Assert.Equal(7, uuid.Version);
        Assert.Equal(0b1000, uuid.Variant & 0b1100); // the RFC's variant, 10xx
        Assert.Equal(id["msg_".Length..], uuid.ToString()); // lower case, with hyphens
        Assert.Equal($"{at:x12}", uuid.ToString("N")[..12]); // the first 48 bits are the time
    }

    [Fact]
    public void Ids_sort_by_creation_time_and_never_repeat_across_threads_and_buffer_refills()
    {
        Assert.True(string.CompareOrdinal(MessageIds.New(1_000), MessageIds.New(1_001)) < 0);

        var ids = new ConcurrentBag<string>();
        Parallel.For(0, 8, _ =>
        {
            for (var i = 0; i < 1_000; i++) ids.Add(MessageIds.New(42)); // one millisecond: only the random bits differ
        });

        Assert.Equal(8_000, ids.Distinct().Count());
        Assert.All(ids, id => Assert.Equal(7, Guid.Parse(id["msg_".Length..]).Version));
    }
}
