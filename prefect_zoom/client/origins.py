"""Where a connection's token may go: the API's own origin and Zoom's hosts over https.

A recording file's ``download_url`` is an absolute URL taken from outside (Zoom's listing, a
webhook, a caller's dict). The client attaches the connection's token (or a webhook's download
token) only to

- the origin (scheme, host, port) of the connection's ``api_base_url``: Zoom's API, ZoomGov's, or
  the local emulator, whose downloads live on its own origin;
- ``https`` URLs on Zoom's own domains and their subdomains (:data:`ZOOM_DOMAINS`).

Anything else is refused with :class:`ZoomForeignHostError` before the request is built. Redirects
are httpx's: a redirect to another origin is followed without the ``Authorization`` header.
"""

from __future__ import annotations

import ipaddress

import httpx

from prefect_zoom.exceptions import ZoomForeignHostError

ZOOM_DOMAINS = ("zoom.us", "zoomgov.com", "zoom.com.cn")
"""Zoom's domains: these and their subdomains may receive the token over https."""

_DEFAULT_PORTS = {"http": 80, "https": 443}


def host_of(url: httpx.URL) -> str:
    """The URL's host, lower-case, in its ASCII (IDNA) form, without a trailing dot."""
    return url.raw_host.decode("ascii", errors="replace").lower().rstrip(".")


def is_loopback(host: str) -> bool:
    """``localhost`` (and its subdomains), 127.0.0.0/8 or ``::1``: this machine only."""
    host = host.lower().rstrip(".").strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_zoom_host(host: str) -> bool:
    """Whether ``host`` is one of :data:`ZOOM_DOMAINS` or a subdomain of one."""
    host = host.lower().rstrip(".")
    return any(host == domain or host.endswith("." + domain) for domain in ZOOM_DOMAINS)


def origin_of(url: httpx.URL) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in."""
    return url.scheme, host_of(url), url.port or _DEFAULT_PORTS.get(url.scheme)


def token_may_go_to(url: httpx.URL, api_base_url: httpx.URL) -> bool:
    """Whether a request to ``url`` may carry the token of a connection to ``api_base_url``."""
    if not url.host:
        return False
    if origin_of(url) == origin_of(api_base_url):
        return True
    return url.scheme == "https" and is_zoom_host(host_of(url))


def check_token_destination(url: httpx.URL, api_base_url: httpx.URL) -> None:
    """Raise :class:`ZoomForeignHostError` unless the token may go to ``url``."""
    if token_may_go_to(url, api_base_url):
        return
    api_origin = f"{api_base_url.scheme}://{api_base_url.netloc.decode('ascii', errors='replace')}"
    where = url.netloc.decode("ascii", errors="replace") or "an address with no host"
    if url.scheme not in ("http", "https"):
        where = f"{where} ({url.scheme}://)"
    elif url.scheme == "http" and is_zoom_host(host_of(url)):
        where = f"{where} over plain http"
    raise ZoomForeignHostError(where, api_origin, ZOOM_DOMAINS)


__all__ = [
    "ZOOM_DOMAINS",
    "ZoomForeignHostError",
    "check_token_destination",
    "is_loopback",
    "is_zoom_host",
    "token_may_go_to",
]
