using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;

namespace Parley.Server.Common;

/// <summary>
/// One place that answers bad request bodies on every route, before any endpoint binds them:
/// an empty body, JSON that does not parse or holds text that is not Unicode, and a member of the
/// wrong type each get a 400 with a sentence naming what is wrong, one warning line in the log and
/// no stack trace. Whatever the
/// framework still refuses while reading a request (a body over the size limit, a content type
/// that is not JSON) is answered the same way instead of travelling up as an unhandled exception.
/// </summary>
public static partial class JsonBodies
{
    /// <summary>Turns <see cref="BadHttpRequestException"/> from anywhere inside into the contract's
    /// error answer. Goes just inside the exception handler, which would log it as an error.</summary>
    public static IApplicationBuilder UseBadRequestAnswers(this IApplicationBuilder app)
    {
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("Parley.Requests");
        return app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (BadHttpRequestException bad) when (!context.Response.HasStarted)
            {
                var (status, message) = Describe(bad);
                Refused(logger, context.Request.Method, RouteOf(context), message);
                context.Response.Clear();
                await ApiError.WriteAsync(context, status, message);
            }
        });
    }

    /// <summary>Reads and checks the JSON body of endpoints that bind one, then hands the endpoint
    /// the same bytes. Goes after authentication, so a caller without a token still gets 401.</summary>
    public static IApplicationBuilder UseJsonBodyChecks(this IApplicationBuilder app)
    {
        var json = app.ApplicationServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("Parley.Requests");
        return app.Use(async (context, next) =>
        {
            var accepts = context.GetEndpoint()?.Metadata.GetMetadata<IAcceptsMetadata>();
            if (accepts?.RequestType is not { } bodyType || !accepts.ContentTypes.Any(t => t.Contains("json", StringComparison.OrdinalIgnoreCase)))
            {
                await next(context);
                return;
            }
            var refusal = await CheckAsync(context, bodyType, accepts.IsOptional, json);
            if (refusal is null)
            {
                await next(context);
                return;
            }
            Refused(logger, context.Request.Method, RouteOf(context), refusal);
            await ApiError.WriteAsync(context, StatusCodes.Status400BadRequest, refusal);
        });
    }

    private static ReadOnlySpan<byte> Utf8ByteOrderMark => [0xEF, 0xBB, 0xBF];

    private static async Task<string?> CheckAsync(HttpContext context, Type bodyType, bool optional, JsonSerializerOptions json)
    {
        var request = context.Request;
        var canHaveBody = context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? true;
        // A body that is not JSON by its content type is the framework's 415.
        if (canHaveBody && !request.HasJsonContentType()) return null;
        ReadOnlyMemory<byte> bytes = default;
        if (canHaveBody)
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, context.RequestAborted);
            var all = buffer.ToArray();
            // Some Windows tools begin UTF-8 with a byte order mark. JSON (RFC 8259) lets a parser
            // ignore one, and this check's parser would refuse it: neither it nor the endpoint sees it.
            var start = all.AsSpan().StartsWith(Utf8ByteOrderMark) ? Utf8ByteOrderMark.Length : 0;
            bytes = all.AsMemory(start);
            request.Body = new MemoryStream(all, start, all.Length - start, writable: false);
        }
        if (bytes.Length == 0) return optional ? null : Empty(bodyType, json);
        var readerOptions = new JsonReaderOptions
        {
            MaxDepth = json.MaxDepth == 0 ? 64 : json.MaxDepth,
            AllowTrailingCommas = json.AllowTrailingCommas,
            CommentHandling = json.ReadCommentHandling,
        };
        var documentOptions = new JsonDocumentOptions
        {
            MaxDepth = readerOptions.MaxDepth,
            AllowTrailingCommas = readerOptions.AllowTrailingCommas,
            CommentHandling = readerOptions.CommentHandling,
            // Which copy of a member named twice counts differs between parsers (a proxy in front
            // may read the first, the binder reads the last), so such a body has no one meaning.
            AllowDuplicateProperties = false,
        };
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes, documentOptions);
        }
        catch (JsonException ex)
        {
            return ParsesWithDuplicates(bytes, documentOptions)
                ? "The request body names a member more than once; each member may appear once."
                : $"The request body is not valid JSON (line {(ex.LineNumber ?? 0) + 1}, byte {(ex.BytePositionInLine ?? 0) + 1}).";
        }
        catch (InvalidOperationException)
        {
            // A member name that is not valid Unicode cannot be compared with the others: read it
            // without the duplicate check, and the Unicode check below refuses it for what it is.
            document = JsonDocument.Parse(bytes, documentOptions with { AllowDuplicateProperties = true });
        }
        using (document)
        {
            // Checked before anything reads a name or a string of it: such a read would throw.
            if (!JsonUnicode.IsValid(bytes.Span, readerOptions))
            {
                return "The request body is not valid JSON: it has text that is not valid Unicode (bytes that are not UTF-8, or a lone surrogate such as \\ud800).";
            }
            if (document.RootElement.ValueKind == JsonValueKind.Null) return optional ? null : Empty(bodyType, json);
            return JsonShape.Check(document.RootElement, bodyType, json);
        }
    }

    /// <summary>Whether a body the strict parse refused parses once members may repeat (only a
    /// refused body pays for this second look).</summary>
    private static bool ParsesWithDuplicates(ReadOnlyMemory<byte> bytes, JsonDocumentOptions options)
    {
        try
        {
            using var _ = JsonDocument.Parse(bytes, options with { AllowDuplicateProperties = true });
            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return false;
        }
    }

    private static string Empty(Type bodyType, JsonSerializerOptions json)
    {
        var members = JsonShape.MemberNames(bodyType, json);
        return members.Count == 0
            ? "The request body is empty; send a JSON object."
            : $"The request body is empty; send a JSON object with {string.Join(", ", members)}.";
    }

    private static (int Status, string Message) Describe(BadHttpRequestException bad) => bad.StatusCode switch
    {
        StatusCodes.Status413PayloadTooLarge => (bad.StatusCode, "The request body is too large."),
        StatusCodes.Status415UnsupportedMediaType => (bad.StatusCode, "The request body must be JSON (Content-Type: application/json)."),
        StatusCodes.Status408RequestTimeout => (bad.StatusCode, "The request body arrived too slowly."),
        _ when bad.InnerException is JsonException => (StatusCodes.Status400BadRequest, "The request body is not valid JSON for this endpoint."),
        StatusCodes.Status400BadRequest => (StatusCodes.Status400BadRequest, "The request is malformed."),
        var status => (status, $"The request failed with status {status}."),
    };

    /// <summary>The route's pattern, not the path the client sent, so the log line holds no client text.</summary>
    private static string RouteOf(HttpContext context) =>
        (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(no route)";

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Refused a request to {Method} {Route}: {Reason}")]
    private static partial void Refused(ILogger logger, string method, string route, string reason);
}
