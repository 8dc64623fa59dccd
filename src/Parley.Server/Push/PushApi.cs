using System.Buffers.Text;
using System.Security.Claims;
using Microsoft.Extensions.Options;
using Parley.Server.Auth;
using Parley.Server.Common;
using Parley.Server.Configuration;
using Parley.Server.Storage;

namespace Parley.Server.Push;

public sealed record PushKeys(string? P256dh, string? Auth);
public sealed record PushSubscriptionRequest(string? Endpoint, PushKeys? Keys);
/// <summary>The server's VAPID public key (base64url), for PushManager.subscribe.</summary>
public sealed record VapidKeyAnswer(string PublicKey);
public sealed record SubscriptionAnswer(string Endpoint);

/// <summary>Web Push subscriptions of the signed-in user, and the server's VAPID public key.</summary>
public static class PushApi
{
    public const int MaxEndpointLength = 2048;

    public static IEndpointRouteBuilder MapPushApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/push").WithTags("Push").RequireAuthorization();
        group.MapGet("/vapid-public-key", (VapidKeys keys) => TypedResults.Json(new VapidKeyAnswer(keys.PublicKey), AppJson.Options)).Produces<VapidKeyAnswer>();
        group.MapPost("/subscriptions", Subscribe).Produces<SubscriptionAnswer>(StatusCodes.Status201Created);
        group.MapDelete("/subscriptions", Unsubscribe).Produces(StatusCodes.Status204NoContent);
        return routes;
    }

    private static async Task<IResult> Subscribe(PushSubscriptionRequest body, ClaimsPrincipal principal, IParleyStore store,
        SecretSeal seal, IOptions<ParleyOptions> options, TimeProvider clock)
    {
        var push = options.Value.Push;
        if (CheckEndpoint(body.Endpoint, push) is { } endpointError) return ApiError.BadRequest(endpointError);
        if (!IsKey(body.Keys?.P256dh, 65, out var p256dh) || p256dh[0] != 0x04 || !IsPoint(p256dh))
        {
            return ApiError.BadRequest("keys.p256dh must be the browser's P-256 public key, base64url encoded.");
        }
        if (!IsKey(body.Keys?.Auth, 16, out _)) return ApiError.BadRequest("keys.auth must be the browser's 16-byte auth secret, base64url encoded.");
        // The auth secret is what keeps the push service from reading notifications: sealed like the server's own keys.
        var record = new PushSubscriptionRecord(body.Endpoint!, principal.UserId(), body.Keys!.P256dh!,
            seal.SealText(body.Keys.Auth!, SecretSeal.PushPurpose(body.Endpoint!)), clock.NowMs());
        if (!await store.AddPushSubscriptionAsync(record, push.MaxSubscriptionsPerUser))
        {
            return ApiError.BadRequest($"At most {push.MaxSubscriptionsPerUser} push subscriptions per account; remove one first.");
        }
        return TypedResults.Json(new SubscriptionAnswer(record.Endpoint), AppJson.Options, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> Unsubscribe(string? endpoint, ClaimsPrincipal principal, IParleyStore store)
    {
        if (string.IsNullOrEmpty(endpoint) || endpoint.Length > MaxEndpointLength) return ApiError.BadRequest("endpoint is required.");
        return await store.RemovePushSubscriptionAsync(principal.UserId(), endpoint)
            ? TypedResults.NoContent()
            : ApiError.NotFound("No such push subscription.");
    }

    /// <summary>An absolute https URL (http only where configured), no credentials in it, not naming
    /// this machine or a private network (see <see cref="PushAddresses"/>).</summary>
    private static string? CheckEndpoint(string? endpoint, PushOptions push)
    {
        const string Sentence = "endpoint must be the push service URL the browser gave (https).";
        if (string.IsNullOrEmpty(endpoint) || endpoint.Length > MaxEndpointLength) return Sentence;
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.UserInfo.Length > 0) return Sentence;
        if (uri.Scheme != Uri.UriSchemeHttps && !(push.AllowInsecureEndpoints && uri.Scheme == Uri.UriSchemeHttp)) return Sentence;
        return !push.AllowPrivateEndpoints && PushAddresses.NamesPrivateHost(uri)
            ? "endpoint must be a push service on the public internet, not this machine or a private network."
            : null;
    }

    private static bool IsKey(string? text, int length, out byte[] bytes)
    {
        bytes = [];
        if (string.IsNullOrEmpty(text) || text.Length > 128) return false;
        try
        {
            // Browsers give base64url without padding; accept padded too.
            bytes = Base64Url.DecodeFromChars(text.TrimEnd('='));
        }
        catch (FormatException)
        {
            return false;
        }
        return bytes.Length == length;
    }

    private static bool IsPoint(byte[] uncompressed)
    {
        try
        {
            using var key = WebPushEncryption.ImportPublicKey(uncompressed);
            return true;
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return false;
        }
    }
}
