using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace Parley.Server.Configuration;

/// <summary>Where requests come from.</summary>
public sealed class NetworkOptions
{
    /// <summary>The proxies whose <c>X-Forwarded-For</c> names the client, as addresses or networks
    /// (<c>10.0.0.0/16</c>). Empty: this host's loopback only (nginx beside Parley). A load balancer on
    /// other hosts must be listed, or every client counts as its address in the per-IP limits. When
    /// set, only what is listed is trusted.</summary>
    public List<string> TrustedProxies { get; set; } = [];

    /// <summary>Null when the settings are valid, else the sentence that stops the server.</summary>
    public string? Problem() =>
        TrustedProxies.FirstOrDefault(entry => !IPAddress.TryParse(entry, out _) && !System.Net.IPNetwork.TryParse(entry, out _)) is { } bad
            ? $"Parley:Network:TrustedProxies holds '{bad}', which is neither an IP address nor a network such as 10.0.0.0/16."
            : null;

    /// <summary>Forwarded headers from the trusted proxies: the client's address and scheme. Only the
    /// last entry of <c>X-Forwarded-For</c> counts, the one the nearest proxy added; a client can
    /// write anything before it.</summary>
    public ForwardedHeadersOptions ForwardedHeaders()
    {
        var forwarded = new ForwardedHeadersOptions
        {
            ForwardedHeaders = Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedFor | Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedProto,
        };
        if (TrustedProxies.Count == 0) return forwarded;
        forwarded.KnownProxies.Clear();
        forwarded.KnownIPNetworks.Clear();
        foreach (var entry in TrustedProxies)
        {
            if (IPAddress.TryParse(entry, out var address))
            {
                forwarded.KnownProxies.Add(address);
                // A dual-stack listener sees an IPv4 peer as its IPv6-mapped form.
                if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) forwarded.KnownProxies.Add(address.MapToIPv6());
            }
            else
            {
                var network = System.Net.IPNetwork.Parse(entry);
                forwarded.KnownIPNetworks.Add(network);
                if (network.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
                    forwarded.KnownIPNetworks.Add(new System.Net.IPNetwork(network.BaseAddress.MapToIPv6(), network.PrefixLength + 96));
            }
        }
        return forwarded;
    }
}
