namespace Parley.Tests.Infrastructure;

/// <summary>One server for a whole test class (IClassFixture), for tests whose state does not interfere.</summary>
public sealed class SharedServer : IAsyncLifetime
{
    private ParleyServer? _server;

    public ParleyServer Server => _server ?? throw new InvalidOperationException("The shared server is not started.");

    public async Task InitializeAsync() => _server = await ParleyServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }
}
