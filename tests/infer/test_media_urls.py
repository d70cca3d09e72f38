"""Media URLs the API server would fetch: data: URIs and public http(s) hosts only (no local files, no
loopback / private / link-local / reserved networks, which would let a client reach the server's own network)."""

import re

import pytest

from lmforge.infer.media import MediaURLError, check_media_url

PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


@pytest.mark.parametrize("url", [
    PNG,
    "data:image/jpeg;base64,/9j/4AAQ",
    "https://93.184.216.34/cat.png",
    "http://8.8.8.8:8080/a/b.jpg?x=1",
    "https://[2606:4700:4700::1111]/img.webp",
    # IPv6 transition forms of a public IPv4 address (8.8.8.8) stay usable
    "http://[::ffff:8.8.8.8]/a.png",  # IPv4-mapped
    "http://[64:ff9b::808:808]/a.png",  # NAT64
    "http://[2002:808:808::1]/a.png",  # 6to4
])
def test_accepted(url):
    check_media_url(url)


@pytest.mark.parametrize("url, reason", [
    ("/etc/passwd", "a local path is not accepted"),
    ("images/cat.png", "a local path is not accepted"),
    ("file:///etc/passwd", "scheme 'file:'"),
    ("ftp://93.184.216.34/a.png", "scheme 'ftp:'"),
    ("gopher://93.184.216.34/", "scheme 'gopher:'"),
    ("http://localhost/a.png", "private, loopback or reserved"),
    ("http://127.0.0.1:8000/v1/models", "private, loopback or reserved"),
    ("http://0.0.0.0/", "private, loopback or reserved"),
    ("http://10.1.2.3/a.png", "private, loopback or reserved"),
    ("http://172.16.0.5/a.png", "private, loopback or reserved"),
    ("http://192.168.1.10/a.png", "private, loopback or reserved"),
    ("http://169.254.169.254/latest/meta-data/", "private, loopback or reserved"),  # cloud metadata
    ("http://100.64.0.1/", "private, loopback or reserved"),  # carrier-grade NAT
    ("http://[::1]/a.png", "private, loopback or reserved"),
    ("http://[fe80::1]/a.png", "private, loopback or reserved"),
    ("http://[::ffff:127.0.0.1]/a.png", "private, loopback or reserved"),
    ("http://224.0.0.1/", "private, loopback or reserved"),
    ("data:image/png,notbase64", "data:<type>/<subtype>;base64"),
    ("http:///nohost.png", "has no host"),
])
def test_rejected(url, reason):
    with pytest.raises(MediaURLError, match=reason.replace("(", r"\(").replace("[", r"\[")):
        check_media_url(url)


# Each IPv6 form that carries an IPv4 address, around 169.254.169.254 (cloud metadata) and 127.0.0.1: the IPv4
# address inside decides, whatever the IPv6 prefix's own status.
@pytest.mark.parametrize("host, carried", [
    ("::127.0.0.1", "127.0.0.1"),  # IPv4-compatible (::/96, deprecated)
    ("::a9fe:a9fe", "169.254.169.254"),
    ("::ffff:169.254.169.254", "169.254.169.254"),  # IPv4-mapped
    ("::ffff:7f00:1", "127.0.0.1"),
    ("::ffff:0:a9fe:a9fe", "169.254.169.254"),  # IPv4-translated (SIIT)
    ("64:ff9b::a9fe:a9fe", "169.254.169.254"),  # NAT64 well-known prefix
    ("64:ff9b::10.0.0.1", "10.0.0.1"),
    ("2002:a9fe:a9fe::", "169.254.169.254"),  # 6to4
    ("2002:c0a8:101::1", "192.168.1.1"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "65.54.227.120, 192.0.2.45"),  # Teredo (server, client)
])
def test_ipv6_forms_of_private_ipv4_are_rejected(host, carried):
    with pytest.raises(MediaURLError, match=rf"which carries the IPv4 address(es)? {re.escape(carried)}\)"):
        check_media_url(f"http://[{host}]/latest/meta-data/")


def test_local_use_nat64_prefix_is_rejected():
    """64:ff9b:1::/48 (RFC 8215) is translated by the operator's own gateway; some Python versions call it global."""
    with pytest.raises(MediaURLError, match="private, loopback or reserved"):
        check_media_url("http://[64:ff9b:1::a9fe:a9fe]/")
