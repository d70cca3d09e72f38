"""Where the API server may take images and other media from.

A request names media by URL. The server would fetch it, so a URL is a way to make the server read files
or reach machines the client cannot (SSRF). Accepted: `data:` URIs, and http(s) URLs whose host resolves
only to public (globally routable) addresses. Rejected: local paths, file:// and every other scheme, and
hosts on loopback, private, link-local, shared or reserved networks.

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


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


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
    private = [str(ip) for ip in addresses if not _is_public(ip)]
    if private:
        raise MediaURLError(f"the host '{host}' is on a private, loopback or reserved network ({private[0]}); "
                            "only public hosts are accepted")
    return [str(ip) for ip in addresses]
