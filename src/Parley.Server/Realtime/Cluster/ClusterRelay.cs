using System.Text;

namespace Parley.Server.Realtime.Cluster;

/// <summary>Carries ephemeral frames (typing) to the other nodes that hold sockets of the
/// recipients, as notifications on their channels: <c>t:user,user,...|frame</c>, split so each
/// stays well below PostgreSQL's 8,000-byte payload limit. Best effort, like typing itself.</summary>
internal sealed class ClusterRelay(ClusterNode node) : IClusterRelay
{
    private const int MaxPayloadBytes = 7000;

    public void Broadcast(IReadOnlyCollection<string> userIds, byte[] frame)
    {
        Dictionary<string, List<string>>? byNode = null;
        foreach (var userId in userIds)
        {
            foreach (var nodeId in node.NodesOf(userId))
            {
                byNode ??= [];
                if (!byNode.TryGetValue(nodeId, out var users)) byNode[nodeId] = users = [];
                users.Add(userId);
            }
        }
        if (byNode is null) return;
        var text = Encoding.UTF8.GetString(frame);
        foreach (var (nodeId, users) in byNode)
        {
            var payload = new StringBuilder("t:");
            foreach (var user in users)
            {
                if (payload.Length + user.Length + text.Length + 2 > MaxPayloadBytes && payload.Length > 2)
                {
                    _ = node.NotifyAsync(nodeId, payload.Append('|').Append(text).ToString(), toNode: true);
                    payload.Clear().Append("t:");
                }
                if (payload.Length > 2) payload.Append(',');
                payload.Append(user);
            }
            _ = node.NotifyAsync(nodeId, payload.Append('|').Append(text).ToString(), toNode: true);
        }
    }

    /// <summary>Reads a <c>t:</c> payload back: the users and the frame.</summary>
    public static (string[] Users, byte[] Frame)? Parse(string payload)
    {
        var bar = payload.IndexOf('|', StringComparison.Ordinal);
        if (!payload.StartsWith("t:", StringComparison.Ordinal) || bar < 0) return null;
        return (payload[2..bar].Split(',', StringSplitOptions.RemoveEmptyEntries), Encoding.UTF8.GetBytes(payload[(bar + 1)..]));
    }
}
