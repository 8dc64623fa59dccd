namespace Parley.Server.Storage.DynamoDb;

/// <summary>
/// A lock that lets its waiters in in the order they asked, decided when <see cref="EnterAsync"/> is
/// called (before it first waits). A chat's lane uses it so that operations start in the order
/// they were made, as the SQL stores' writer queues do: a socket's pipelined sends are stored in
/// the order it sent them.
/// </summary>
internal sealed class OrderedGate
{
    private readonly Lock _sync = new();
    private Task _tail = Task.CompletedTask;

    public async Task<Releaser> EnterAsync()
    {
        var mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task previous;
        lock (_sync)
        {
            previous = _tail;
            _tail = mine.Task;
        }
        await previous.ConfigureAwait(false);
        return new Releaser(mine);
    }

    public readonly struct Releaser(TaskCompletionSource turn) : IDisposable
    {
        public void Dispose() => turn.TrySetResult();
    }
}
