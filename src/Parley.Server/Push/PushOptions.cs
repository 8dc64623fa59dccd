namespace Parley.Server.Push;

/// <summary>Web Push settings (the "Parley:Push" section).</summary>
public sealed class PushOptions
{
    /// <summary>The VAPID <c>sub</c> claim: how a push service's operator reaches yours
    /// (<c>mailto:</c> or <c>https:</c>). Some push services refuse placeholder addresses.</summary>
    public string Subject { get; set; } = "mailto:admin@parley.invalid";
    /// <summary>How long after a message a user who has not taken it gets a push instead.</summary>
    public double DelaySeconds { get; set; } = 3;
    /// <summary>How long a push service keeps a notification for an offline device.</summary>
    public int TtlSeconds { get; set; } = 86_400;
    public int MaxSubscriptionsPerUser { get; set; } = 10;
    /// <summary>Messages waiting for their push check; beyond this, pushes are dropped (and counted).</summary>
    public int QueueCapacity { get; set; } = 10_000;
    /// <summary>Tries per notification when the push service answers 429 or 5xx.</summary>
    public int MaxAttempts { get; set; } = 4;
    /// <summary>Accept http:// endpoints (a push service on a test machine); real ones are https.</summary>
    public bool AllowInsecureEndpoints { get; set; }
    /// <summary>Accept endpoints on loopback, private, link-local or reserved addresses (a push
    /// service on a test machine); real ones are on the public internet (see <see cref="PushAddresses"/>).</summary>
    public bool AllowPrivateEndpoints { get; set; }
}
