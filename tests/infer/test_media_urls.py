"""Media URLs the API server would fetch: data: URIs and public http(s) hosts only (no local files, no
loopback / private / link-local / reserved networks, which would let a client reach the server's own network)."""

import pytest

from lmforge.infer.media import MediaURLError, check_media_url

PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


@pytest.mark.parametrize("url", [
    PNG,
    "data:image/jpeg;base64,/9j/4AAQ",
    "https://93.184.216.34/cat.png",
    "http://8.8.8.8:8080/a/b.jpg?x=1",
    "https://[2606:4700:4700::1111]/img.webp",
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
