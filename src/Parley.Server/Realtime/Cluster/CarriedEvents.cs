using System.Text.Json;
using System.Text.Json.Serialization;
using Parley.Server.Storage;

namespace Parley.Server.Realtime.Cluster;

/// <summary>
/// Events carried in an announcement, for a store other nodes cannot read back by writer
/// (<see cref="IClusterEventSource"/> without <see cref="IClusterEventReader"/>): each event with
/// only those of its recipients who are on the receiving node. Consecutive events of a chat usually
/// share their recipients, so each list is sent once and events name it by index.
/// </summary>
internal static class CarriedEvents
{
    public static string Write(IReadOnlyList<StoredEvent> events, IReadOnlySet<string> there)
    {
        var lists = new List<string[]>();
        var wire = new List<CarriedEvent>(events.Count);
        foreach (var e in events)
        {
            var recipients = e.Recipients.Where(there.Contains).ToArray();
            var index = lists.FindLastIndex(l => l.AsSpan().SequenceEqual(recipients));
            if (index < 0)
            {
                lists.Add(recipients);
                index = lists.Count - 1;
            }
            wire.Add(new CarriedEvent(e.Pos, e.Kind, e.ChatId, index, e.Message, e.Status, e.Writer, e.PrevPos, e.PrevWriter));
        }
        return JsonSerializer.Serialize(new CarriedBatch(lists, wire), ClusterJsonContext.Default.CarriedBatch);
    }

    /// <summary>The events, oldest first; null when the text is not a batch.</summary>
    public static List<StoredEvent>? Read(string json)
    {
        CarriedBatch? batch;
        try
        {
            batch = JsonSerializer.Deserialize(json, ClusterJsonContext.Default.CarriedBatch);
        }
        catch (JsonException)
        {
            return null;
        }
        if (batch?.Lists is not { } lists || batch.Events is not { } events) return null;
        var read = new List<StoredEvent>(events.Count);
        foreach (var e in events)
        {
            if (e.ChatId is null || e.Recipients < 0 || e.Recipients >= lists.Count || lists[e.Recipients] is null) return null;
            read.Add(new StoredEvent(e.Pos, e.Kind, e.ChatId, lists[e.Recipients], e.Message, e.Status)
            {
                Writer = e.Writer,
                PrevPos = e.PrevPos,
                PrevWriter = e.PrevWriter,
            });
        }
        read.Sort((a, b) => a.Pos.CompareTo(b.Pos));
        return read;
    }
}

internal sealed record CarriedBatch(IReadOnlyList<string[]> Lists, IReadOnlyList<CarriedEvent> Events);

/// <summary>A <see cref="StoredEvent"/> on the wire; <see cref="Recipients"/> indexes the batch's lists.</summary>
internal sealed record CarriedEvent(long Pos, EventKind Kind, string ChatId, int Recipients, MessageRecord? Message, StatusData? Status,
    int? Writer, long PrevPos, int? PrevWriter);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CarriedBatch))]
internal sealed partial class ClusterJsonContext : JsonSerializerContext;
