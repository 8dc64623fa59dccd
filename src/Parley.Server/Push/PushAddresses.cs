using System.Net;
using System.Net.Sockets;

namespace Parley.Server.Push;

/// <summary>
/// Where a push may go. An endpoint is whatever URL a client registers, so without a check any
/// account could make the server send requests into its own network (loopback, private ranges, a
/// cloud's metadata address at 169.254.169.254) with every message. Endpoints that name such an
/// address are refused when registered, and every connection checks the addresses the host name
/// resolves to, connecting only to one it checked (a name that resolves elsewhere on the next
/// lookup gains nothing). <c>Parley:Push:AllowPrivateEndpoints</c> lifts both, for a push service
/// on a test machine.
/// </summary>
public static class PushAddresses
{
    /// <summary>Whether a URL's host names this machine or a private network by its text alone.</summary>
    public static bool NamesPrivateHost(Uri endpoint)
    {
        var host = endpoint.IdnHost.TrimEnd('.');
        return endpoint.IsLoopback
            || host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host.Trim('[', ']'), out var address) && !IsPublic(address));
    }

    /// <summary>Whether an address is on the public internet: not loopback, private (RFC 1918,
    /// unique local), link-local, shared (100.64/10), unspecified, multicast, reserved or set aside
    /// for documentation and benchmarks.</summary>
    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (IPAddress.IsLoopback(address)) return false;
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b[0] switch
            {
                0 or 10 or 127 => false,
                100 => b[1] is < 64 or > 127,
                169 => b[1] != 254,
                172 => b[1] is < 16 or > 31,
                192 => !(b[1] == 168 || (b[1] == 0 && b[2] is 0 or 2)),
                198 => b[1] is not (18 or 19) && !(b[1] == 51 && b[2] == 100),
                203 => !(b[1] == 0 && b[2] == 113),
                >= 224 => false,
                _ => true,
            };
        }
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return false;
        if (address.Equals(IPAddress.IPv6None) || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast) return false;
        var first = address.GetAddressBytes()[0];
        return (first & 0xFE) != 0xFC; // fc00::/7, unique local
    }

    /// <summary>The push client's connections: to the host's public addresses, in the order the
    /// resolver gives them, until one answers (a server without IPv6 still reaches a push service
    /// whose first address is IPv6); none public: <see cref="PrivatePushAddressException"/>.</summary>
    public static SocketsHttpHandler Handler(bool allowPrivate) => new()
    {
        ConnectCallback = async (context, ct) =>
        {
            var host = context.DnsEndPoint.Host;
            var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal)
                ? [literal]
                : await Dns.GetHostAddressesAsync(host, ct).ConfigureAwait(false);
            var allowed = addresses.Where(a => allowPrivate || IsPublic(a)).ToList();
            if (allowed.Count == 0) throw new PrivatePushAddressException(host);
            SocketException? failed = null;
            foreach (var address in allowed)
            {
                var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(address, context.DnsEndPoint.Port, ct).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch (SocketException ex)
                {
                    socket.Dispose();
                    failed = ex;
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            }
            throw failed!;
        },
    };
}

/// <summary>A push endpoint's host resolves only to addresses <see cref="PushAddresses"/> refuses.</summary>
public sealed class PrivatePushAddressException(string host)
    : IOException($"Push endpoint host {host} resolves only to loopback, private or reserved addresses.");
