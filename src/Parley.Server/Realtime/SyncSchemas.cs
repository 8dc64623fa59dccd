using System.Text.Json;

namespace Parley.Server.Realtime;

// The shape of the /sync answer that EventReader writes by hand, declared for the OpenAPI document.

/// <summary>Missed events in order, the cursor to resume from, and whether more are waiting.</summary>
public sealed record SyncAnswer(IReadOnlyList<SyncEvent> Events, string Cursor, bool HasMore);

/// <summary>An event as the WebSocket frame that carried it live: <c>type</c> is <c>message</c>,
/// <c>messageUpdated</c>, <c>status</c> or <c>chat</c>, and <c>data</c> has that frame's shape.</summary>
public sealed record SyncEvent(string Type, JsonElement Data, string? Cursor = null);
