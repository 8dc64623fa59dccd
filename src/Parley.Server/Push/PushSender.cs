using System.Buffers.Text;
using System.Net;
using System.Net.Http.Headers;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Parley.Server.Configuration;
using Parley.Server.Operations;
using Parley.Server.Storage;

namespace Parley.Server.Push;

/// <summary>Sends encrypted notifications to push services (RFC 8030) from a bounded queue, two at
/// a time. 429 and 5xx answers are retried with growing waits (or the service's Retry-After); 404
/// and 410 mean the browser dropped the subscription, which is then deleted.</summary>
public sealed partial class PushSender : BackgroundService
{
    private const int Workers = 2;
    private static readonly TimeSpan MaxRetryWait = TimeSpan.FromMinutes(1);

    private readonly IHttpClientFactory _http;
    private readonly VapidKeys _vapid;
    private readonly IParleyStore _store;
    private readonly Auth.SecretSeal _seal;
    private readonly PushOptions _options;
    private readonly ParleyMetrics _metrics;
    private readonly ILogger<PushSender> _logger;
    private readonly Channel<Notification> _queue;

    private sealed record Notification(PushSubscriptionRecord Subscription, byte[] Payload, string Topic, int Attempt);

    public PushSender(IHttpClientFactory http, VapidKeys vapid, IParleyStore store, Auth.SecretSeal seal, IOptions<ParleyOptions> options, ParleyMetrics metrics,
        ILogger<PushSender> logger)
    {
        _http = http;
        _vapid = vapid;
        _store = store;
        _seal = seal;
        _options = options.Value.Push;
        _metrics = metrics;
        _logger = logger;
        _queue = Channel.CreateBounded<Notification>(new BoundedChannelOptions(Math.Max(1, _options.QueueCapacity))
        {
            FullMode = BoundedChannelFullMode.DropWrite,
        });
    }

    public void Enqueue(PushSubscriptionRecord subscription, byte[] payload, string topic)
    {
        if (!_queue.Writer.TryWrite(new Notification(subscription, payload, topic, 1))) _metrics.PushDropped();
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, Workers).Select(_ => RunWorker(stoppingToken)));

    private async Task RunWorker(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var notification in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                await SendAsync(notification, stoppingToken);
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    private async Task SendAsync(Notification n, CancellationToken ct)
    {
        var endpoint = new Uri(n.Subscription.Endpoint);
        string auth;
        try
        {
            auth = _seal.OpenText(n.Subscription.Auth, Auth.SecretSeal.PushPurpose(n.Subscription.Endpoint));
        }
        catch (InvalidOperationException)
        {
            // Sealed with a secrets key that is gone (after 'secrets reset'): no notification can be
            // encrypted for it again. The web client registers its subscription anew at its next start.
            await ForgetAsync(n, endpoint.Host, PushLog.SubscriptionUnreadable);
            return;
        }
        HttpStatusCode? status = null;
        TimeSpan? retryAfter = null;
        try
        {
            var body = WebPushEncryption.Encrypt(n.Payload, Base64Url.DecodeFromChars(n.Subscription.P256dh.TrimEnd('=')),
                Base64Url.DecodeFromChars(auth.TrimEnd('=')));
            using var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            request.Content.Headers.ContentEncoding.Add("aes128gcm");
            request.Headers.TryAddWithoutValidation("Authorization", _vapid.Authorization(endpoint, _options.Subject));
            request.Headers.Add("TTL", _options.TtlSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
            request.Headers.Add("Topic", n.Topic);
            request.Headers.Add("Urgency", "high");
            using var response = await _http.CreateClient(nameof(PushSender)).SendAsync(request, ct);
            status = response.StatusCode;
            retryAfter = response.Headers.RetryAfter?.Delta;
        }
        catch (HttpRequestException ex) when (ex.InnerException is PrivatePushAddressException)
        {
            // Its host resolves into a private network: no later try will be allowed either.
            await ForgetAsync(n, endpoint.Host, PushLog.SubscriptionPrivate);
            return;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            // Unreachable or too slow: treated like a 5xx.
            PushLog.Unreachable(_logger, endpoint.Host, ex.GetType().Name);
        }

        switch (status)
        {
            case { } ok when (int)ok is >= 200 and < 300:
                _metrics.PushSent();
                return;
            case HttpStatusCode.NotFound or HttpStatusCode.Gone:
                await ForgetAsync(n, endpoint.Host, PushLog.SubscriptionGone);
                return;
            case null or HttpStatusCode.TooManyRequests or >= HttpStatusCode.InternalServerError when n.Attempt < _options.MaxAttempts:
                // Retried later without holding this worker: growing waits, or what the service asks.
                var wait = retryAfter ?? TimeSpan.FromSeconds(Math.Pow(2, n.Attempt - 1));
                _ = RetryLaterAsync(n with { Attempt = n.Attempt + 1 }, wait < MaxRetryWait ? wait : MaxRetryWait, ct);
                return;
            default:
                _metrics.PushFailed();
                PushLog.Refused(_logger, endpoint.Host, (int?)status ?? 0);
                return;
        }
    }

    /// <summary>A subscription no notification will reach again: counted as failed, deleted, logged.</summary>
    private async Task ForgetAsync(Notification n, string host, Action<ILogger, string> log)
    {
        _metrics.PushFailed();
        await _store.DeletePushSubscriptionAsync(n.Subscription);
        log(_logger, host);
    }

    private async Task RetryLaterAsync(Notification n, TimeSpan wait, CancellationToken ct)
    {
        try
        {
            await Task.Delay(wait, ct);
            if (!_queue.Writer.TryWrite(n)) _metrics.PushDropped();
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }
}

internal static partial class PushLog
{
    [LoggerMessage(EventId = 2201, Level = LogLevel.Error, Message = "Preparing push notifications failed")]
    public static partial void DispatchFailed(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Warning, Message = "Push service {Host} unreachable ({Error}); will retry")]
    public static partial void Unreachable(ILogger logger, string host, string error);

    [LoggerMessage(EventId = 2203, Level = LogLevel.Information, Message = "Push service {Host} says a subscription is gone; deleted it")]
    public static partial void SubscriptionGone(ILogger logger, string host);

    [LoggerMessage(EventId = 2204, Level = LogLevel.Warning, Message = "Push service {Host} refused a notification with status {Status}")]
    public static partial void Refused(ILogger logger, string host, int status);

    [LoggerMessage(EventId = 2205, Level = LogLevel.Warning,
        Message = "A push subscription at {Host} was sealed with another Parley:Auth:SecretsKey and cannot be opened; deleted it")]
    public static partial void SubscriptionUnreadable(ILogger logger, string host);

    [LoggerMessage(EventId = 2206, Level = LogLevel.Warning,
        Message = "A push subscription at {Host} resolves only to loopback, private or reserved addresses; deleted it")]
    public static partial void SubscriptionPrivate(ILogger logger, string host);
}
