"""The authorization-code sign-in: authorize URL, loopback callback receiver, code exchange.

UI-agnostic: the caller shows the URL (browser, terminal, test driver) and gets a
:class:`~prefect_zoom.auth.tokens.TokenSet` back, or one of the :class:`SignInError` subclasses,
each with a message that says what to do. Nothing here prints, and no message ever carries a
code, a token or the client secret.

    with AuthorizationCodeFlow(client_id, secret, oauth_base_url) as flow:
        show(flow.authorize_url)
        tokens = flow.complete()
"""

from __future__ import annotations

import secrets
import threading
import warnings
from dataclasses import dataclass
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import authlib.deprecate  # noqa: F401  (installs authlib's own "always" filter before ours)

with warnings.catch_warnings():
    # authlib prefers the "httpx2" fork and warns when it falls back to httpx, which we use.
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.httpx_client import OAuth2Client

from prefect_zoom.auth.endpoint import TokenEndpoint
from prefect_zoom.auth.tokens import TokenSet
from prefect_zoom.exceptions import (
    MAX_SHOWN_CHARS,
    PREAPPROVAL_ADVICE,
    AuthorizationError,
    ConsentDeclinedError,
    SignInError,
    SignInTimeoutError,
    StateMismatchError,
    shown_text,
)

DEFAULT_TIMEOUT = 300.0
"""Seconds to wait for the browser to come back to the loopback redirect."""
LOOPBACK_HOST = "127.0.0.1"
CALLBACK_PATH = "/callback"


def _same_state(got: str | None, sent: str) -> bool:
    return got is not None and secrets.compare_digest(got.encode(), sent.encode())


@dataclass(frozen=True)
class AuthorizationRequest:
    """One sign-in attempt: where to send the browser, and what must come back."""

    url: str
    state: str
    code_verifier: str
    redirect_uri: str


def build_authorization_request(
    client_id: str, oauth_base_url: str, redirect_uri: str
) -> AuthorizationRequest:
    """Zoom's authorize URL with a random ``state`` and a PKCE ``S256`` challenge (authlib)."""
    verifier = secrets.token_urlsafe(64)
    with OAuth2Client(
        client_id=client_id, redirect_uri=redirect_uri, code_challenge_method="S256"
    ) as client:
        url, state = client.create_authorization_url(
            f"{oauth_base_url.rstrip('/')}/authorize",
            state=secrets.token_urlsafe(32),
            code_verifier=verifier,
        )
    return AuthorizationRequest(
        url=str(url), state=str(state), code_verifier=verifier, redirect_uri=redirect_uri
    )


@dataclass(frozen=True)
class CallbackResult:
    """What the browser brought back to the redirect URI."""

    code: str | None = None
    state: str | None = None
    error: str | None = None
    error_description: str | None = None


_DONE_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 4rem auto">
<h1 id="result">{title}</h1>
<p>{message}</p>
<p>You can close this tab and go back to the terminal.</p>
</body></html>
"""


def _page(title: str, message: str) -> bytes:
    return _DONE_PAGE.format(title=escape(title), message=escape(message)).encode("utf-8")


class LoopbackReceiver:
    """A one-shot HTTP server on 127.0.0.1 that waits for ``GET /callback?...``.

    Once :meth:`expect_state` is set, a callback with another ``state`` (a forged, stale or
    other sign-in's answer, error or not) is answered 400 and ignored: the receiver keeps waiting.
    The first callback accepted is kept and answered with a short "you can close this tab" page;
    later requests and other paths get a 404. Use it as a context manager.
    """

    def __init__(self, port: int = 0, host: str = LOOPBACK_HOST) -> None:
        self._result: CallbackResult | None = None
        self._expected_state: str | None = None
        self._arrived = threading.Event()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="zoom-oauth-callback", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def redirect_uri(self) -> str:
        return f"http://{LOOPBACK_HOST}:{self.port}{CALLBACK_PATH}"

    def expect_state(self, state: str) -> None:
        """The state a callback must carry to be accepted."""
        self._expected_state = state

    def _accepts(self, result: CallbackResult) -> bool:
        return self._expected_state is None or _same_state(result.state, self._expected_state)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path != CALLBACK_PATH or receiver._arrived.is_set():
                    self._answer(404, _page("Not found", "Nothing is waiting here."))
                    return
                query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
                result = CallbackResult(
                    code=query.get("code") or None,
                    state=query.get("state"),
                    error=query.get("error") or None,
                    error_description=query.get("error_description") or None,
                )
                if not receiver._accepts(result):
                    message = (
                        "This answer does not belong to the sign-in the terminal is waiting for."
                    )
                    self._answer(400, _page("Sign-in rejected", message))
                    return
                self._answer(200, receiver._page_for(result))
                receiver._result = result
                receiver._arrived.set()

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Silent: the query string holds the authorization code."""

        return Handler

    def _page_for(self, result: CallbackResult) -> bytes:
        if result.error == "access_denied":
            return _page("Zoom access was not granted", "You declined the request.")
        if result.error:
            return _page("Zoom refused the authorization", shown_text(result.error_description))
        if not result.code:
            return _page("Sign-in failed", "Zoom sent no authorization code.")
        return _page("Zoom is connected", "The terminal is finishing the connection.")

    def start(self) -> LoopbackReceiver:
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> LoopbackReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def wait(self, timeout: float) -> CallbackResult | None:
        """The callback's parameters, or ``None`` when nothing came within ``timeout`` seconds."""
        if not self._arrived.wait(timeout):
            return None
        return self._result


def code_from_callback(result: CallbackResult, request: AuthorizationRequest) -> str:
    """The authorization code, after the checks; raises the matching :class:`SignInError`.

    The state is checked first: an error from another sign-in is not this one's error.
    """
    if not _same_state(result.state, request.state):
        raise StateMismatchError()
    if result.error == "access_denied":
        raise ConsentDeclinedError()
    if result.error:
        raise AuthorizationError(result.error, result.error_description)
    if not result.code:
        raise AuthorizationError("invalid_request", "the redirect carried no authorization code")
    return result.code


class AuthorizationCodeFlow:
    """Sign a user in through the browser and get the connection's first tokens.

    Token endpoint errors surface as :mod:`prefect_zoom.exceptions` errors (for example
    :class:`~prefect_zoom.exceptions.ZoomPreapprovalRequiredError` for Zoom's 4738).
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        oauth_base_url: str,
        *,
        redirect_port: int = 0,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.client_id = client_id
        self.oauth_base_url = oauth_base_url.rstrip("/")
        self.timeout = timeout
        self._client_secret = client_secret
        self._receiver = LoopbackReceiver(redirect_port)
        self.request = build_authorization_request(
            client_id, self.oauth_base_url, self._receiver.redirect_uri
        )
        self._receiver.expect_state(self.request.state)

    @property
    def authorize_url(self) -> str:
        """Open this in a browser to sign in."""
        return self.request.url

    @property
    def redirect_uri(self) -> str:
        return self.request.redirect_uri

    def __enter__(self) -> AuthorizationCodeFlow:
        self._receiver.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._receiver.close()

    def wait_for_code(self) -> str:
        """Block until the browser comes back (at most ``timeout`` seconds); the checked code."""
        result = self._receiver.wait(self.timeout)
        if result is None:
            raise SignInTimeoutError(self.timeout, self.redirect_uri)
        return code_from_callback(result, self.request)

    def exchange(self, code: str) -> TokenSet:
        """Trade the code at ``{oauth_base_url}/token`` (Basic auth, redirect URI, PKCE verifier)."""
        endpoint = TokenEndpoint(self.oauth_base_url, self.client_id, lambda: self._client_secret)
        return endpoint.exchange_code(
            code, self.redirect_uri, code_verifier=self.request.code_verifier
        )

    def complete(self) -> TokenSet:
        """Wait for the browser, then exchange the code for tokens."""
        return self.exchange(self.wait_for_code())


__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_SHOWN_CHARS",
    "PREAPPROVAL_ADVICE",
    "AuthorizationCodeFlow",
    "AuthorizationError",
    "AuthorizationRequest",
    "CallbackResult",
    "ConsentDeclinedError",
    "LoopbackReceiver",
    "SignInError",
    "SignInTimeoutError",
    "StateMismatchError",
    "build_authorization_request",
    "code_from_callback",
    "shown_text",
]
