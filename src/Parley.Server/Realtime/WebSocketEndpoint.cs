using System.Buffers;
using System.Net.WebSockets;
using Microsoft.Extensions.Options;
using Parley.Server.Auth;
using Parley.Server.Common;
using Parley.Server.Configuration;
using Parley.Server.Realtime.Bus;
using Parley.Server.Storage;

namespace Parley.Server.Realtime;

/// <summary>
/// <c>/ws</c>: checks token, Origin, cursor and connection caps before the upgrade, then runs one
/// reader (this request) and one writer (the connection's queue) per socket. With <c>since</c>,
/// the writer first sends every stored event after the cursor, then the live ones, skipping any
/// it already sent.
/// </summary>
public static partial class WebSocketEndpoint
{
    private const int ReceiveChunk = 1024;
    /// <summary>Frames refused in a row by the frame limit after which the connection is closed (1008).</summary>
    private const int MaxRejectedFramesInARow = 20;
    /// <summary>The wait a socket refused for the per-user or per-address limit is told to keep.</summary>
    private static readonly TimeSpan SocketLimitRetryAfter = TimeSpan.FromSeconds(30);

    /// <summary>Answers <c>/ws</c> ahead of the rest of the pipeline. An open socket keeps alive
    /// everything its request passed through and created for as long as it stays open, hours or
    /// days, so the request passes only the forwarded-header check and the WebSocket upgrade: it
    /// logs its own line and answers its own errors, checks its own token, Origin and cursor
    /// (CORS, static files and JSON body checks do not apply to it), and takes its services from
    /// the application, so no per-request service scope or authentication handler is created.</summary>
    public static IApplicationBuilder UseWebSocketEndpoint(this IApplicationBuilder app, int keepAliveSeconds)
    {
        var services = new Lazy<WebSocketServices>(() => new WebSocketServices(app.ApplicationServices));
        // On shutdown, every socket says goodbye (1001) so clients reconnect elsewhere and the server
        // stops at once: one registration for the node rather than one per socket.
        app.ApplicationServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() =>
        {
            foreach (var connection in app.ApplicationServices.GetRequiredService<ConnectionRegistry>().All()) CloseForShutdown(connection);
        });
        app.MapWhen(http => http.Request.Path.Value is { } path && (path.Equals("/ws", StringComparison.OrdinalIgnoreCase) || path.Equals("/ws/", StringComparison.OrdinalIgnoreCase)), ws =>
        {
            ws.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(keepAliveSeconds) });
            ws.Run(http => ServeAsync(http, services.Value));
        });
        return app;
    }

    /// <summary>The singletons a socket uses, resolved once.</summary>
    private sealed class WebSocketServices(IServiceProvider services)
    {
        public IOptions<ParleyOptions> Options { get; } = services.GetRequiredService<IOptions<ParleyOptions>>();
        public ConnectionRegistry Registry { get; } = services.GetRequiredService<ConnectionRegistry>();
        public Presence Presence { get; } = services.GetRequiredService<Presence>();
        public IEventLog Store { get; } = services.GetRequiredService<IEventLog>();
        public EventReader Events { get; } = services.GetRequiredService<EventReader>();
        public ClientFrames Protocol { get; } = services.GetRequiredService<ClientFrames>();
        public IClusterBus Bus { get; } = services.GetRequiredService<IClusterBus>();
        public IHostApplicationLifetime Lifetime { get; } = services.GetRequiredService<IHostApplicationLifetime>();
        public IWsTicketStore Tickets { get; } = services.GetRequiredService<IWsTicketStore>();
        public SessionRevocations Revocations { get; } = services.GetRequiredService<SessionRevocations>();
        public AccessTokenCheck AccessTokens { get; } = services.GetRequiredService<AccessTokenCheck>();
        public TimeProvider Clock { get; } = services.GetRequiredService<TimeProvider>();
        public ILogger Logger { get; } = services.GetRequiredService<ILoggerFactory>().CreateLogger("Parley.Realtime");
        public ILogger RequestLogger { get; } = services.GetRequiredService<ILoggerFactory>().CreateLogger(RequestLogging.Category);
    }

    /// <summary>Serves one <c>/ws</c> request: an error before the upgrade is answered with a 500
    /// and logged; the request's line is logged when it ends (as for every other request).
    /// <para>An open socket waits in this one method (checks, upgrade, then its receive loop) rather
    /// than in a chain of awaiting ones: each method awaiting another while the socket is idle would
    /// keep a state machine of its own for as long as the socket stays open.</para></summary>
    private static async Task ServeAsync(HttpContext http, WebSocketServices services)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            var settings = services.Options.Value;
            if (await AdmitAsync(http, services, settings) is not { } admitted) return;
            var userId = admitted.UserId;
            using var socket = await http.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
            {
                KeepAliveInterval = TimeSpan.FromSeconds(settings.Realtime.KeepAliveSeconds),
                KeepAliveTimeout = TimeSpan.FromSeconds(settings.Realtime.KeepAliveSeconds * 2),
            });
            // Nothing reads the request's headers after the upgrade, and the open socket would keep
            // them (a browser's cookies, user agent and languages) for as long as it stays open.
            http.Request.Headers.Clear();
            var connection = new Connection(userId, admitted.SessionId, socket, settings.Realtime.SendQueueFrames,
                new FrameBudget(settings.Limits.FramesPerSecond, TimeProvider.System));
            if (!services.Registry.TryAdd(connection, admitted.Ip, settings.Limits.SocketsPerUser, settings.Limits.SocketsPerIp))
            {
                await socket.CloseAsync(WebSocketCloseStatus.PolicyViolation, "Too many open connections", CancellationToken.None);
                return;
            }
            if (services.Revocations.IsRevoked(userId, connection.SessionId, admitted.IssuedAt))
            {
                // The session ended between the token check and the registration: the close sweep missed this socket.
                services.Registry.Remove(connection, admitted.Ip);
                await socket.CloseAsync(WebSocketCloseStatus.PolicyViolation, "Session revoked", CancellationToken.None);
                return;
            }
            var logger = services.Logger;
            // The connection's id is made only when asked for: ask only when the line is written.
            if (logger.IsEnabled(LogLevel.Debug)) Opened(logger, userId, connection.Id);
            services.Presence.SocketOpened(userId);
            // A socket registered after the shutdown sweep (see UseWebSocketEndpoint) says goodbye itself.
            if (services.Lifetime.ApplicationStopping.IsCancellationRequested) CloseForShutdown(connection);
            try
            {
                // The socket does not count as open (no backlog, no answer to any frame) until every
                // node can see that this one holds the user: what they commit from then on is
                // announced here, and what they committed before is in the backlog.
                if (await ClaimAsync(services.Bus, userId, connection))
                {
                    // Without a cursor, live frames start after what was committed by now; marked
                    // before the reader runs, so nothing the client sends can commit before the mark.
                    if (admitted.Since is null) connection.DeliveredUpTo(await services.Store.CurrentCursorAsync());
                    connection.StartWriter(admitted.Since is { } since ? Backlog(connection, services.Events, since) : null);
                    var state = new ConnectionState();
                    var maxFrameBytes = settings.Limits.MaxJsonBodyBytes;
                    try
                    {
                        while (!connection.Closed.IsCancellationRequested)
                        {
                            // Idle sockets hold no receive buffer: wait for the next frame with an empty read,
                            // and rent one only to read the frame that arrived. The wait takes no cancellation
                            // token (a registration per idle socket): the writer aborts the socket when it ends.
                            var next = await socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None);
                            if (next.MessageType == WebSocketMessageType.Close) break;
                            if (await ReadFrameAsync(socket, connection, next, maxFrameBytes) is not { } frame) break;
                            try
                            {
                                await HandleFrameAsync(connection, services.Protocol, frame, state, logger);
                            }
                            finally
                            {
                                ArrayPool<byte>.Shared.Return(frame.Buffer);
                            }
                        }
                    }
                    catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or ObjectDisposedException)
                    {
                        // The client went away or the server closed the connection.
                    }
                }
            }
            finally
            {
                services.Registry.Remove(connection, admitted.Ip);
                services.Bus.Release(userId);
                services.Presence.SocketClosed(userId);
                connection.ReaderFinished();
                connection.Close(WebSocketCloseStatus.NormalClosure, "Bye");
                await connection.WriterEnded();
                if (logger.IsEnabled(LogLevel.Debug)) Closed(logger, userId, connection.Id);
            }
        }
        catch (Exception ex) when (!http.Response.HasStarted)
        {
            OpeningFailed(services.Logger, ex);
            await ApiError.WriteAsync(http, StatusCodes.Status500InternalServerError, "Something went wrong on the server.");
        }
        finally
        {
            RequestLogging.Log(services.RequestLogger, http, System.Diagnostics.Stopwatch.GetElapsedTime(started));
        }
    }

    /// <summary>Who may open a socket, as the checks before the upgrade found: the user, the session
    /// and issue time of the access token behind it, the resume cursor and the client's address.</summary>
    private readonly record struct Admission(string UserId, string? SessionId, long IssuedAt, StreamCursor? Since, string Ip);

    /// <summary>The checks before the upgrade: token, Origin, cursor and the connection caps. Null
    /// when one failed, after answering it.</summary>
    private static async Task<Admission?> AdmitAsync(HttpContext http, WebSocketServices services, ParleyOptions settings)
    {
        if (!http.WebSockets.IsWebSocketRequest)
        {
            await ApiError.WriteAsync(http, StatusCodes.Status400BadRequest, "This endpoint only accepts WebSocket upgrades.");
            return null;
        }
        if (await AuthenticateAsync(http, services) is not { } identity) return null;
        if (!OriginAllowed(http, [.. settings.Realtime.AllowedOrigins, .. CorsSetup.Origins(settings)]))
        {
            await ApiError.WriteAsync(http, StatusCodes.Status403Forbidden, "This Origin is not allowed to open a WebSocket here.");
            return null;
        }
        StreamCursor? since = null;
        if (http.Request.Query.TryGetValue("since", out var sinceText) && !string.IsNullOrEmpty(sinceText))
        {
            // Malformed is bad input (400); well formed but beyond what this store handed out (another
            // server's, or a store replaced since) means the client must reload (410).
            if (!StreamCursor.TryParse(sinceText!, out var position))
            {
                await ApiError.WriteAsync(http, StatusCodes.Status400BadRequest, SyncApi.MalformedCursor);
                return null;
            }
            if (!position.IsWithin(await services.Store.CurrentCursorAsync()))
            {
                await ApiError.WriteAsync(http, StatusCodes.Status410Gone, SyncApi.UnknownCursor);
                return null;
            }
            since = position;
        }
        ForgetCredentials(http);
        // The user's sockets on every node: another node's count is as fresh as the bus.
        if (services.Registry.Count(identity.UserId) + services.Presence.SocketsElsewhere(identity.UserId) >= settings.Limits.SocketsPerUser)
        {
            // A socket's place frees when one closes, which no wait predicts; a client retries after a while.
            await ApiError.WriteTooManyAsync(http, SocketLimitRetryAfter, "Too many open connections for this user.");
            return null;
        }
        // The address's sockets on every node, likewise.
        var ip = http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (services.Registry.CountForAddress(ip) >= settings.Limits.SocketsPerIp)
        {
            await ApiError.WriteTooManyAsync(http, SocketLimitRetryAfter, "Too many open connections from this address.");
            return null;
        }
        return new Admission(identity.UserId, identity.SessionId, identity.IssuedAt, since, ip);
    }

    /// <summary>The writer's first task for a socket that resumes: every stored event after
    /// <paramref name="since"/>. (A method of its own so that the socket's long-lived method keeps
    /// no captured variables for it.)</summary>
    private static Func<Task> Backlog(Connection connection, EventReader events, StreamCursor since) =>
        () => SendBacklogAsync(connection, events, since);

    private static void CloseForShutdown(Connection connection) =>
        connection.Close(WebSocketCloseStatus.EndpointUnavailable, "Server shutting down");

    /// <summary>Claims the user on the bus; false (and the socket closed, 1013) when the bus does not answer.</summary>
    private static async Task<bool> ClaimAsync(IClusterBus bus, string userId, Connection connection)
    {
        try
        {
            await bus.ClaimAsync(userId);
            return true;
        }
        catch (TimeoutException)
        {
            connection.Close(WebSocketCloseStatus.EndpointUnavailable, "Reconnect and resume");
            connection.StartWriter(null);
            await connection.WriterEnded();
            return false;
        }
    }

    /// <summary>Lets go of the request's copies of the token (the query string and its parsed
    /// values, the raw request target, Kestrel's cached copy of the target, the Authorization
    /// header): the request lives as long as the socket, and a token is about a kilobyte in each.</summary>
    private static void ForgetCredentials(HttpContext http)
    {
        // Setting the query (rather than its text) also drops the parsed one, which would keep the token.
        http.Request.Query = QueryCollection.Empty;
        http.Request.Headers.Authorization = default;
        if (http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>() is { } request)
        {
            request.RawTarget = request.Path;
            KestrelRequestLine.Forget(request);
        }
    }

    /// <summary>Who a socket is for, and the session and issue time of the access token behind it.</summary>
    private sealed record SocketIdentity(string UserId, string? SessionId, long IssuedAt);

    /// <summary>The user of a one-use <c>ticket</c> (see <see cref="WsTickets"/>) or of a bearer token
    /// (header or <c>token</c> query); answers 401 itself and returns null when neither is valid.</summary>
    private static async Task<SocketIdentity?> AuthenticateAsync(HttpContext http, WebSocketServices services)
    {
        if (http.Request.Query.TryGetValue("ticket", out var ticket))
        {
            var record = ticket.Count == 1 ? await WsTickets.RedeemAsync(ticket[0] ?? "", services.Tickets, services.Revocations, services.Clock) : null;
            if (record is null)
            {
                await ApiError.WriteAsync(http, StatusCodes.Status401Unauthorized, "This ticket is unknown, used or expired: get a new one from POST /ws/ticket.");
                return null;
            }
            return new SocketIdentity(record.UserId, record.SessionId, record.IssuedAt);
        }
        var token = BearerAuthenticationHandler.TokenFrom(http.Request);
        var checkedToken = token is null ? null : await services.AccessTokens.CheckAsync(token, http.RequestAborted);
        if (checkedToken?.UserId is not { } userId)
        {
            await ApiError.WriteAsync(http, StatusCodes.Status401Unauthorized, checkedToken?.Failure ?? "A valid access token is required: /ws?token={accessToken} or /ws?ticket={ticket}.");
            return null;
        }
        return new SocketIdentity(userId, checkedToken.SessionId, checkedToken.IssuedAt);
    }

    /// <summary>Sends the stored events after the cursor, page by page, before any live frame. Pages
    /// wait for held-back events to settle (<see cref="EventReader.SettledPageAsync"/>): live frames,
    /// which move the cursor on, come only after, so the cursor does not pass an event the socket
    /// was not given; a socket whose backlog stays held back ends instead of going live.</summary>
    private static async Task SendBacklogAsync(Connection connection, EventReader events, StreamCursor since)
    {
        var position = since;
        while (true)
        {
            var page = await events.SettledPageAsync(connection.UserId, position, 500, connection.Closed);
            foreach (var frame in await events.RenderAsync(page, connection.UserId, position))
            {
                await connection.SendNowAsync(frame);
            }
            position = page.Cursor;
            connection.DeliveredUpTo(position);
            if (page.HasMore) continue;
            // Still held back after the wait (a node died just after storing them, and its writer
            // is not settled until its lease runs out): going live would move the cursor past them.
            if (page.HeldBackAt != 0) connection.CloseAfterBacklog(WebSocketCloseStatus.EndpointUnavailable, "Reconnect and resume");
            return;
        }
    }

    /// <summary>A client frame in a rented buffer (returned to the pool once handled).</summary>
    private readonly record struct ReceivedFrame(byte[] Buffer, int Length, WebSocketMessageType Type)
    {
        public ReadOnlyMemory<byte> Payload => Buffer.AsMemory(0, Length);
    }

    /// <summary>Reads the rest of the frame whose arrival <paramref name="first"/> announced; null when
    /// the socket is closing or the frame is over the limit (the connection is then closed, 1009).</summary>
    private static async ValueTask<ReceivedFrame?> ReadFrameAsync(WebSocket socket, Connection connection, ValueWebSocketReceiveResult first,
        int maxFrameBytes)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ReceiveChunk);
        var length = 0;
        var result = first;
        try
        {
            // An empty frame is over already: the empty read took all of it.
            while (!result.EndOfMessage)
            {
                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, maxFrameBytes + 1));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                result = await socket.ReceiveAsync(buffer.AsMemory(length), connection.Closed);
                length += result.Count;
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    return null;
                }
                if (length > maxFrameBytes)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    connection.Close(WebSocketCloseStatus.MessageTooBig, $"Frames are limited to {maxFrameBytes} bytes");
                    return null;
                }
            }
            return new ReceivedFrame(buffer, length, result.MessageType);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    private static async Task HandleFrameAsync(Connection connection, ClientFrames protocol, ReceivedFrame frame, ConnectionState state, ILogger logger)
    {
        if (connection.IsClosing) return; // drain until the client answers our close
        // Every frame counts, whatever it holds: typing, pings and garbage cost the server too.
        if (!connection.Frames.TryTake())
        {
            await connection.ReplyAsync(Frames.Error("Too many frames; slow down.", "rate_limited"));
            if (++state.RejectedFramesInARow >= MaxRejectedFramesInARow) connection.Close(WebSocketCloseStatus.PolicyViolation, "Frame rate limit exceeded");
            return;
        }
        state.RejectedFramesInARow = 0;
        if (frame.Type == WebSocketMessageType.Binary)
        {
            await connection.ReplyAsync(Frames.Error("Frames must be JSON text, not binary.", "bad_request"));
            return;
        }
        try
        {
            await protocol.HandleAsync(connection, frame.Payload, state);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            FrameFailed(logger, ex, connection.Id);
            await connection.ReplyAsync(Frames.Error("The server could not handle this frame.", "internal_error"));
        }
    }

    /// <summary>No Origin: a native app or server, allowed. A browser: its own origin or a configured
    /// one (<c>Parley:Realtime:AllowedOrigins</c> or <c>Parley:Cors:AllowedOrigins</c>).</summary>
    private static bool OriginAllowed(HttpContext http, string[] allowed)
    {
        var origin = http.Request.Headers.Origin.ToString();
        if (string.IsNullOrEmpty(origin)) return true;
        var own = $"{http.Request.Scheme}://{http.Request.Host}";
        return string.Equals(origin, own, StringComparison.OrdinalIgnoreCase)
            || allowed.Any(a => string.Equals(a.TrimEnd('/'), origin, StringComparison.OrdinalIgnoreCase));
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "Socket {ConnectionId} opened for user {UserId}")]
    private static partial void Opened(ILogger logger, string userId, string connectionId);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Debug, Message = "Socket {ConnectionId} closed for user {UserId}")]
    private static partial void Closed(ILogger logger, string userId, string connectionId);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Error, Message = "Opening a socket failed")]
    private static partial void OpeningFailed(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Error, Message = "Handling a frame on socket {ConnectionId} failed")]
    private static partial void FrameFailed(ILogger logger, Exception ex, string connectionId);
}
