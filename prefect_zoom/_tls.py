"""One TLS context for every HTTP client of the process."""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """The process's TLS context for Zoom (its CA bundle read once).

    Building a context reads the CA bundle (about 20 ms, once per ``httpx.Client`` otherwise); one
    context is safe to share between clients and threads. It is made on first use, so
    ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` set before then are honoured.
    """
    return httpx.create_ssl_context()
