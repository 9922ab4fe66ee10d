"""One TLS context for every HTTP client of the process, and one for its Prefect API clients."""

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


@functools.cache
def _prefect_api_context(skip_verify: bool, cert_file: str | None) -> ssl.SSLContext:
    """The TLS context Prefect's client builds for its API, built once per setting."""
    if skip_verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    import certifi

    return ssl.create_default_context(cafile=cert_file or certifi.where())


def prefect_api_context() -> ssl.SSLContext:
    """The TLS context for the Prefect API, as Prefect's client makes it from its settings
    (``PREFECT_API_TLS_INSECURE_SKIP_VERIFY``, ``PREFECT_API_SSL_CERT_FILE``), read once.

    Prefect builds one for each client it makes (20 ms of CA bundle, 60-200 ms on a busy machine):
    more than the API round trip that client is made for.
    """
    from prefect.settings import PREFECT_API_SSL_CERT_FILE, PREFECT_API_TLS_INSECURE_SKIP_VERIFY

    return _prefect_api_context(
        bool(PREFECT_API_TLS_INSECURE_SKIP_VERIFY.value()), PREFECT_API_SSL_CERT_FILE.value()
    )
