"""Where the API server may take images and other media from.

A request names media by URL. The server would fetch it, so a URL is a way to make the server read files
or reach machines the client cannot (SSRF). Accepted: `data:` URIs, and http(s) URLs whose host resolves
only to public (globally routable) addresses. Rejected: local paths, file:// and every other scheme, and
hosts on loopback, private, link-local, shared or reserved networks -- also when written as an IPv6 form
that carries an IPv4 address (IPv4-mapped, -compatible and -translated, NAT64, 6to4, Teredo): the IPv4
address inside is checked too, so [::a9fe:a9fe] is 169.254.169.254.

A fetcher must connect to the addresses checked here (not resolve the name again), or a DNS answer that
changes between check and fetch gets around the check.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

_DATA_URI = re.compile(r"^data:[\w.+-]+/[\w.+-]+(;[\w-]+=[\w.-]+)*;base64,[A-Za-z0-9+/=\s]+$")


class MediaURLError(ValueError):
    """A media URL the server refuses; the message says why."""


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 forms that carry an IPv4 address in their last 32 bits: IPv4-compatible (::a.b.c.d, deprecated),
# IPv4-translated (::ffff:0:a.b.c.d, SIIT) and the well-known NAT64 prefix (64:ff9b::a.b.c.d, RFC 6052).
# IPv4-mapped (::ffff:a.b.c.d), 6to4 (2002:AABB:CCDD::) and Teredo (2001:0::) have ipaddress properties.
_LAST_32_BITS = [ipaddress.ip_network(n) for n in ("::/96", "::ffff:0:0:0/96", "64:ff9b::/96")]
# local-use NAT64 (RFC 8215): translated by the operator's own gateway, never a public host (older Pythons
# count it as global)
_NOT_PUBLIC_V6 = [ipaddress.ip_network("64:ff9b:1::/48")]


def embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address reaches through a transition mechanism (empty for plain IPv6)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    carried = []
    if ip.ipv4_mapped is not None:
        carried.append(ip.ipv4_mapped)
    if any(ip in net for net in _LAST_32_BITS) and int(ip) > 1:  # :: and ::1 are themselves, not IPv4
        carried.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.sixtofour is not None:
        carried.append(ip.sixtofour)
    if ip.teredo is not None:
        carried.extend(ip.teredo)  # (server, client)
    return carried


def _is_public(ip: IPAddress) -> bool:
    """Globally routable, not multicast, and so is every IPv4 address the IPv6 form carries. An IPv4-mapped
    address is judged by its IPv4 address alone (ipaddress calls every ::ffff:0:0/96 address private)."""
    carried = embedded_ipv4(ip)
    if not all(v4.is_global and not v4.is_multicast for v4 in carried):
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return True
    return ip.is_global and not ip.is_multicast and not any(ip in net for net in _NOT_PUBLIC_V6)


def resolve(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as e:
        raise MediaURLError(f"cannot resolve the host '{host}' ({e})") from None
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def check_media_url(url: str) -> list[str]:
    """Raise MediaURLError unless `url` is an accepted data: URI or public http(s) URL; return the checked
    addresses (empty for a data: URI)."""
    if url.startswith("data:"):
        if not _DATA_URI.match(url):
            raise MediaURLError("a data: URI must be data:<type>/<subtype>;base64,<payload>")
        return []
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        what = f"the scheme '{parts.scheme}:'" if parts.scheme else "a local path"
        raise MediaURLError(f"{what} is not accepted; send an http(s) URL of a public host or a data: URI")
    host = parts.hostname
    if not host:
        raise MediaURLError(f"the URL '{url}' has no host")
    addresses = resolve(host)
    private = [ip for ip in addresses if not _is_public(ip)]
    if private:
        ip = private[0]
        carried = embedded_ipv4(ip)
        plural = "es" if len(carried) > 1 else ""
        shown = f"{ip}, which carries the IPv4 address{plural} {', '.join(map(str, carried))}" if carried else str(ip)
        raise MediaURLError(f"the host '{host}' is on a private, loopback or reserved network ({shown}); "
                            "only public hosts are accepted")
    return [str(ip) for ip in addresses]
