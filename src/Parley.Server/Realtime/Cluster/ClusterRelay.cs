using System.Text;
using Parley.Server.Realtime.Bus;

namespace Parley.Server.Realtime.Cluster;

/// <summary>Carries ephemeral frames (typing) to the other nodes that hold sockets of the
/// recipients: <c>user,user,...|frame</c>, split to stay below the bus's body limit. The lookup
/// asks the bus where the users are now, so a socket whose claim is visible gets the frame.
/// Best effort, like typing itself.</summary>
internal sealed class ClusterRelay : IClusterRelay
{
    private readonly IClusterBus _bus;
    private readonly ILogger _logger;

    public ClusterRelay(IClusterBus bus, ILogger<ClusterRelay> logger)
    {
        _bus = bus;
        _logger = logger;
    }

    public void Broadcast(IReadOnlyCollection<string> userIds, byte[] frame)
    {
        if (userIds.Count > 0) _ = BroadcastAsync(userIds, frame);
    }

    private async Task BroadcastAsync(IReadOnlyCollection<string> userIds, byte[] frame)
    {
        IReadOnlyDictionary<string, string[]> located;
        try
        {
            located = await _bus.LocateAsync(userIds).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            BusLog.LocateFailed(_logger, ex);
            return;
        }
        var text = Encoding.UTF8.GetString(frame);
        foreach (var (nodeId, users) in located)
        {
            if (users.Length == 0) continue;
            var body = new StringBuilder();
            foreach (var user in users)
            {
                if (body.Length > 0 && body.Length + user.Length + text.Length + 2 > IClusterBus.MaxBodyBytes)
                {
                    _bus.Send(nodeId, BusChannels.Relay, body.Append('|').Append(text).ToString());
                    body.Clear();
                }
                if (body.Length > 0) body.Append(',');
                body.Append(user);
            }
            _bus.Send(nodeId, BusChannels.Relay, body.Append('|').Append(text).ToString());
        }
    }

    /// <summary>Reads a relay body back: the users and the frame.</summary>
    public static (string[] Users, byte[] Frame)? Parse(string body)
    {
        var bar = body.IndexOf('|', StringComparison.Ordinal);
        if (bar < 0) return null;
        return (body[..bar].Split(',', StringSplitOptions.RemoveEmptyEntries), Encoding.UTF8.GetBytes(body[(bar + 1)..]));
    }
}
