namespace Parley.Server.Realtime.Bus;

/// <summary>The single-node default: there is no other node to tell anything, and a claim is
/// visible to every node (this one) as soon as it is made.</summary>
internal sealed class InMemoryBus(string nodeId) : IClusterBus
{
    public string NodeId { get; } = nodeId;
    public bool Clustered => false;

    public void Subscribe(string topic, Action<BusMessage> handler)
    {
    }

    public ValueTask ClaimAsync(string userId) => ValueTask.CompletedTask;
    public void Release(string userId) { }
    public ValueTask WaitClaimedAsync(string userId) => ValueTask.CompletedTask;

    public Task<IReadOnlyDictionary<string, string[]>> LocateAsync(IReadOnlyCollection<string> userIds) =>
        Task.FromResult<IReadOnlyDictionary<string, string[]>>(new Dictionary<string, string[]>());

    public Task<IReadOnlyList<(string NodeId, string UserId)>> ClaimsElsewhereAsync() =>
        Task.FromResult<IReadOnlyList<(string, string)>>([]);

    public void Send(string nodeId, string topic, string body) { }
    public void SendToAll(string topic, string body) { }

    public event Action<string>? NodeLeft { add { } remove { } }
    public event Action? Reconnected { add { } remove { } }
    public event Action<string>? Lost { add { } remove { } }
}
