using System.Buffers.Binary;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Parley.Tests.Infrastructure;

/// <summary>
/// A Web Push service on a loopback port, as browsers' vendors run them (RFC 8030): it accepts a
/// notification only with a valid VAPID signature (RFC 8292) by the expected key for its own
/// origin, and decrypts every payload (RFC 8291, aes128gcm) with the private key of the
/// subscription it was sent to, written here from the RFCs independently of the server's code.
/// Each subscription can be told to answer with given statuses first (429, 500, 410...).
/// </summary>
public sealed class TestPushService : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Subscription> _subscriptions = new();

    public Uri BaseAddress { get; }
    public ConcurrentQueue<Notification> Received { get; } = new();
    /// <summary>Requests refused for a bad signature or payload (a test expects none).</summary>
    public ConcurrentQueue<string> Rejections { get; } = new();
    /// <summary>The VAPID public key (base64url) every request must be signed with.</summary>
    public string? ExpectedVapidKey { get; set; }

    public sealed record Notification(string SubscriptionId, JsonElement Payload, string? Ttl, string? Topic, string? Urgency, int Attempt);

    public sealed class Subscription
    {
        public required string Id { get; init; }
        public required Uri Endpoint { get; init; }
        public required ECDiffieHellman Key { get; init; }
        public required byte[] AuthSecret { get; init; }
        public ConcurrentQueue<(int Status, int? RetryAfterSeconds)> Answers { get; } = new();
        public int Requests;

        public string P256dh => Base64Url.EncodeToString(PublicKey(Key));
        public string Auth => Base64Url.EncodeToString(AuthSecret);
        public object Body => new { endpoint = Endpoint.ToString(), keys = new { p256dh = P256dh, auth = Auth } };
    }

    private TestPushService(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    public static async Task<TestPushService> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        TestPushService? service = null;
        app.MapPost("/push/{id}", async (string id, HttpContext context) => await service!.HandleAsync(id, context));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        service = new TestPushService(app, new Uri(address));
        return service;
    }

    /// <summary>A new browser subscription: its own P-256 key pair and auth secret.</summary>
    public Subscription NewSubscription()
    {
        var id = Guid.NewGuid().ToString("N");
        var subscription = new Subscription
        {
            Id = id,
            Endpoint = new Uri(BaseAddress, "/push/" + id),
            Key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256),
            AuthSecret = RandomNumberGenerator.GetBytes(16),
        };
        _subscriptions[id] = subscription;
        return subscription;
    }

    /// <summary>Waits for the next notification to this subscription that matches.</summary>
    public async Task<Notification> WaitForAsync(Subscription subscription, Func<JsonElement, bool>? match = null, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (DateTime.UtcNow < deadline)
        {
            var hit = Received.FirstOrDefault(r => r.SubscriptionId == subscription.Id && (match is null || match(r.Payload)));
            if (hit is not null) return hit;
            if (!Rejections.IsEmpty) throw new Xunit.Sdk.XunitException("The push service rejected a request: " + string.Join("; ", Rejections));
            await Task.Delay(50);
        }
        throw new Xunit.Sdk.XunitException($"No notification reached subscription {subscription.Id}; received: {string.Join(" | ", Received.Select(r => r.Payload.GetRawText()))}");
    }

    public IEnumerable<Notification> For(Subscription subscription) => Received.Where(r => r.SubscriptionId == subscription.Id);

    private async Task<IResult> HandleAsync(string id, HttpContext context)
    {
        if (!_subscriptions.TryGetValue(id, out var subscription)) return Results.StatusCode(404);
        var attempt = Interlocked.Increment(ref subscription.Requests);
        var request = context.Request;
        var origin = $"{BaseAddress.Scheme}://{BaseAddress.Authority}";
        var problem = CheckVapid(request.Headers.Authorization.ToString(), origin);
        if (problem is null && request.Headers.ContentEncoding.ToString() != "aes128gcm") problem = "Content-Encoding is not aes128gcm";
        if (problem is null && string.IsNullOrEmpty(request.Headers["TTL"])) problem = "no TTL header";
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer);
        JsonElement payload = default;
        if (problem is null)
        {
            try
            {
                payload = JsonDocument.Parse(Decrypt(buffer.ToArray(), subscription)).RootElement.Clone();
            }
            catch (Exception ex) when (ex is CryptographicException or JsonException or ArgumentException or IndexOutOfRangeException)
            {
                problem = "payload does not decrypt: " + ex.Message;
            }
        }
        if (problem is not null)
        {
            Rejections.Enqueue(problem);
            return Results.StatusCode(problem.StartsWith("VAPID") ? 403 : 400);
        }
        if (subscription.Answers.TryDequeue(out var answer))
        {
            if (answer.RetryAfterSeconds is int seconds) context.Response.Headers.RetryAfter = seconds.ToString();
            if (answer.Status is >= 200 and < 300) Received.Enqueue(new(id, payload, request.Headers["TTL"], request.Headers["Topic"], request.Headers["Urgency"], attempt));
            return Results.StatusCode(answer.Status);
        }
        Received.Enqueue(new(id, payload, request.Headers["TTL"], request.Headers["Topic"], request.Headers["Urgency"], attempt));
        return Results.StatusCode(201);
    }

    /// <summary>RFC 8292: <c>vapid t=JWT, k=key</c>; the JWT is ES256 over header.claims, signed by k,
    /// for this origin, not expired and not valid for more than 24 hours, with a contact.</summary>
    private string? CheckVapid(string header, string origin)
    {
        if (!header.StartsWith("vapid ", StringComparison.Ordinal)) return "VAPID: no vapid Authorization";
        var parts = header[6..].Split(',', StringSplitOptions.TrimEntries).Select(p => p.Split('=', 2)).Where(p => p.Length == 2)
            .ToDictionary(p => p[0], p => p[1]);
        if (!parts.TryGetValue("t", out var jwt) || !parts.TryGetValue("k", out var k)) return "VAPID: t or k missing";
        if (ExpectedVapidKey is not null && k != ExpectedVapidKey) return "VAPID: signed with another key than the server publishes";
        var pieces = jwt.Split('.');
        if (pieces.Length != 3) return "VAPID: not a JWT";
        using var header0 = JsonDocument.Parse(Base64Url.DecodeFromChars(pieces[0]));
        if (header0.RootElement.GetProperty("alg").GetString() != "ES256") return "VAPID: alg is not ES256";
        var publicKey = Base64Url.DecodeFromChars(k);
        using var ecdsa = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = publicKey[1..33], Y = publicKey[33..] },
        });
        if (!ecdsa.VerifyData(Encoding.ASCII.GetBytes(pieces[0] + "." + pieces[1]), Base64Url.DecodeFromChars(pieces[2]), HashAlgorithmName.SHA256))
        {
            return "VAPID: bad signature";
        }
        using var claims = JsonDocument.Parse(Base64Url.DecodeFromChars(pieces[1]));
        var c = claims.RootElement;
        if (c.GetProperty("aud").GetString() != origin) return $"VAPID: aud is {c.GetProperty("aud")} not {origin}";
        var exp = c.GetProperty("exp").GetInt64();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (exp <= now || exp > now + 24 * 3600) return "VAPID: exp out of range";
        var sub = c.GetProperty("sub").GetString() ?? "";
        if (!sub.StartsWith("mailto:") && !sub.StartsWith("https:")) return "VAPID: sub is not mailto: or https:";
        return null;
    }

    /// <summary>RFC 8188 with RFC 8291's key derivation: one record, last-record delimiter 0x02.</summary>
    private static byte[] Decrypt(byte[] body, Subscription s)
    {
        var salt = body[..16];
        var recordSize = BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(16, 4));
        int idLength = body[20];
        var serverKey = body[21..(21 + idLength)];
        var sealedRecord = body[(21 + idLength)..];
        if (sealedRecord.Length > recordSize) throw new ArgumentException("more than one record");
        using var server = ECDiffieHellman.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = serverKey[1..33], Y = serverKey[33..] },
        });
        var shared = s.Key.DeriveRawSecretAgreement(server.PublicKey);
        var uaPublic = PublicKey(s.Key);
        var prkKey = HMACSHA256.HashData(s.AuthSecret, shared);
        var keyInfo = Encoding.ASCII.GetBytes("WebPush: info\0").Concat(uaPublic).Concat(serverKey).Append((byte)1).ToArray();
        var ikm = HMACSHA256.HashData(prkKey, keyInfo);
        var prk = HMACSHA256.HashData(salt, ikm);
        var cek = HMACSHA256.HashData(prk, Encoding.ASCII.GetBytes("Content-Encoding: aes128gcm\0\u0001"))[..16];
        var nonce = HMACSHA256.HashData(prk, Encoding.ASCII.GetBytes("Content-Encoding: nonce\0\u0001"))[..12];
        var plain = new byte[sealedRecord.Length - 16];
        using (var aes = new AesGcm(cek, 16)) aes.Decrypt(nonce, sealedRecord[..^16], sealedRecord[^16..], plain);
        var end = Array.FindLastIndex(plain, b => b != 0);
        if (end < 0 || plain[end] != 0x02) throw new ArgumentException("no last-record delimiter");
        return plain[..end];
    }

    private static byte[] PublicKey(ECDiffieHellman key)
    {
        var p = key.ExportParameters(false);
        return [0x04, .. p.Q.X!, .. p.Q.Y!];
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
