"""Zoom's OAuth surface: the authorize pages, the token endpoint and token revocation (their
rules in :mod:`zoom_emulator.models.oauth`).

Mounted at ``/oauth``. It follows ``docs/zoom-behaviour.md``, "OAuth":

* ``GET /oauth/authorize`` -> sign-in page -> ``POST /oauth/signin`` -> consent page (or the
  pre-approval dead end) -> ``POST /oauth/consent`` -> 302 to the redirect URI with ``code`` or
  ``error=access_denied``. Loopback redirect URIs match whatever their port.
* ``POST /oauth/token``: ``authorization_code`` (with PKCE ``S256``/``plain``),
  ``refresh_token`` (rotation: the presented token dies at once) and ``account_credentials`` (S2S).
  A new user token kills that user's older access tokens for the app (Zoom's error 4741 rule).
* ``POST /oauth/revoke``: kills the whole connection (refresh token and access tokens).

Choices where Zoom is silent or unconfirmed:

* An authorization code is burnt by any exchange attempt that finds it alive, even a failing one
  (wrong verifier, wrong redirect URI), as RFC 6749 asks; a later attempt gets 4734.
* A refresh token killed by rotation or revocation answers exactly
  ``{"reason": "Invalid Token!", "error": "invalid_grant"}``; one killed because the user
  authorized the app again answers ``invalid_grant`` with code 4741.
* Revoking an unknown token, or a token of another app, answers ``{"status": "success"}`` and
  changes nothing (RFC 7009 style); only a missing ``token`` is an error (4700).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from zoom_emulator.models import oauth
from zoom_emulator.models.errors import OAuthError, tracking_id
from zoom_emulator.models.state import (
    AccessToken,
    App,
    AuthCode,
    EmulatorState,
    RefreshToken,
    SignIn,
    now,
)
from zoom_emulator.routes import pages
from zoom_emulator.routes.auth import state_of

router = APIRouter()

SIGNIN_TTL = 600  # seconds a consent page stays answerable
AUTHORIZE_FIELDS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "code_challenge",
    "code_challenge_method",
)


class _PageError(Exception):
    """An error shown as an HTML page in the browser (no redirect)."""

    def __init__(self, status: int, title: str, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.html = pages.error_page(title, message, code=code)

    def response(self) -> HTMLResponse:
        return HTMLResponse(self.html, status_code=self.status)


# ---- helpers -------------------------------------------------------------------------------------


async def _form(request: Request) -> dict[str, str]:
    """The ``application/x-www-form-urlencoded`` body (first value of each field)."""
    body = (await request.body()).decode("utf-8", "replace")
    fields: dict[str, str] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        fields.setdefault(key, value)
    return fields


def _with_query(uri: str, params: Mapping[str, str | None]) -> str:
    """``uri`` with ``params`` appended to its query (``None`` values left out)."""
    parts = urlsplit(uri)
    extra = urlencode([(k, v) for k, v in params.items() if v is not None])
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _redirect(uri: str, params: Mapping[str, str | None]) -> RedirectResponse:
    return RedirectResponse(_with_query(uri, params), status_code=302)


# ---- authorize pages ---------------------------------------------------------------------------
def _authorize_params(source: Mapping[str, str]) -> dict[str, str | None]:
    return {name: source.get(name) or None for name in AUTHORIZE_FIELDS}


def _check_authorize(state: EmulatorState, params: Mapping[str, str | None]) -> App:
    """The app behind an authorize request, after checking its client id and redirect URI."""
    client_id = params.get("client_id") or ""
    app = state.apps.get(client_id)
    if app is None or app.kind != "oauth":
        raise _PageError(400, "Invalid client_id", f"Invalid client_id: {client_id}", 4702)
    if not app.enabled:
        raise _PageError(400, "App disabled", "The app has been disabled", 4717)
    redirect_uri = params.get("redirect_uri") or ""
    if not any(oauth.redirect_uri_matches(r, redirect_uri) for r in app.redirect_uris):
        raise _PageError(
            400,
            "Invalid redirect",
            f"Invalid redirect: {redirect_uri} (4,709). Redirect URI mismatch.",
            4709,
        )
    return app


def _request_error(params: Mapping[str, str | None]) -> RedirectResponse | None:
    """RFC 6749 errors sent back to a redirect URI that is already known to be good."""
    description = None
    if params.get("response_type") != "code":
        error, description = "unsupported_response_type", "response_type must be code"
    elif params.get("code_challenge") and (params.get("code_challenge_method") or "plain") not in (
        "S256",
        "plain",
    ):
        error, description = "invalid_request", "code_challenge_method must be S256 or plain"
    if description is None:
        return None
    return _redirect(
        params.get("redirect_uri") or "",
        {"error": error, "error_description": description, "state": params.get("state")},
    )


def _app_or_stop(state: EmulatorState, params: Mapping[str, str | None]) -> App | Response:
    """The app an authorize request names, or the error page or redirect that stops it."""
    try:
        app = _check_authorize(state, params)
    except _PageError as exc:
        return exc.response()
    return _request_error(params) or app


@router.get("/authorize", response_class=HTMLResponse)
async def authorize(request: Request) -> Response:
    """Zoom's authorize page: check the app and redirect URI, then ask the user to sign in."""
    state = state_of(request)
    params = _authorize_params(request.query_params)
    app = _app_or_stop(state, params)
    if isinstance(app, Response):
        return app
    return HTMLResponse(pages.signin_page(params, app_name=app.name))


@router.post("/signin", response_class=HTMLResponse)
async def signin(request: Request) -> Response:
    """Check email and password; show the consent page, or the pre-approval dead end."""
    state = state_of(request)
    form = await _form(request)
    params = _authorize_params(form)
    app = _app_or_stop(state, params)
    if isinstance(app, Response):
        return app
    email = form.get("email", "").strip()
    password = form.get("password", "")
    user = next(
        (u for u in state.users.values() if u.email.lower() == email.lower() and email), None
    )
    if (
        user is None
        or user.password is None
        or not hmac.compare_digest(user.password.encode(), password.encode())
        or user.status != "active"
    ):
        state.counters["signin failed"] += 1
        page = pages.signin_page(
            params, app_name=app.name, email=email, error="Incorrect email or password."
        )
        return HTMLResponse(page, status_code=401)
    if oauth.preapproval_blocked(state, app, user):
        state.counters["signin preapproval required"] += 1
        page = pages.preapproval_page(app_name=app.name, user_email=user.email)
        return HTMLResponse(page, status_code=403)
    signin_id = secrets.token_urlsafe(24)
    state.signins[signin_id] = SignIn(
        id=signin_id,
        client_id=app.client_id,
        user_id=user.id,
        redirect_uri=params["redirect_uri"] or "",
        state=params["state"],
        code_challenge=params["code_challenge"],
        code_challenge_method=params["code_challenge_method"] or "plain",
        expires_at=now() + SIGNIN_TTL,
    )
    page = pages.consent_page(
        app_name=app.name, user_email=user.email, scopes=app.scopes, signin_id=signin_id
    )
    return HTMLResponse(page)


@router.post("/consent", response_class=HTMLResponse)
async def consent(request: Request) -> Response:
    """Allow -> 302 with a fresh code; Decline -> 302 with ``error=access_denied``."""
    state = state_of(request)
    form = await _form(request)
    pending = state.signins.pop(form.get("signin_id", ""), None)
    if pending is None or pending.expires_at <= now():
        page = pages.error_page(
            "Session expired", "This sign-in has expired or was already used. Start again."
        )
        return HTMLResponse(page, status_code=400)
    if form.get("decision") != "allow":
        state.counters["consent declined"] += 1
        return _redirect(
            pending.redirect_uri,
            {
                "error": "access_denied",
                "error_description": "The user denied the authorization request.",
                "state": pending.state,
            },
        )
    code = AuthCode(
        value=secrets.token_urlsafe(24),
        client_id=pending.client_id,
        user_id=pending.user_id,
        redirect_uri=pending.redirect_uri,
        expires_at=now() + state.config.code_ttl,
        code_challenge=pending.code_challenge,
        code_challenge_method=pending.code_challenge_method,
    )
    state.codes[code.value] = code
    state.counters["consent allowed"] += 1
    return _redirect(pending.redirect_uri, {"code": code.value, "state": pending.state})


# ---- token endpoint ------------------------------------------------------------------------------
def _client_credentials(request: Request, form: Mapping[str, str]) -> tuple[str, str] | None:
    """``Authorization: Basic`` first, then ``client_id``/``client_secret`` form fields."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic" and value.strip():
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        client_id, sep, secret = decoded.partition(":")
        if sep and client_id:
            return client_id, secret
    if form.get("client_id") and form.get("client_secret"):
        return form["client_id"], form["client_secret"]
    return None


def authenticate_client(state: EmulatorState, request: Request, form: Mapping[str, str]) -> App:
    """The calling app, or 400/4706 (no credentials) or 401/4702, 4704 (bad ones)."""
    credentials = _client_credentials(request, form)
    if credentials is None:
        raise OAuthError(400, "invalid_request", "Client ID or client secret is missing.", 4706)
    client_id, secret = credentials
    app = state.apps.get(client_id)
    if app is None:
        raise OAuthError(401, "invalid_client", "Invalid client.", 4702)
    if not hmac.compare_digest(app.client_secret.encode(), secret.encode()):
        raise OAuthError(401, "invalid_client", "Invalid client secret.", 4704)
    return app


def _token_body(
    request: Request, access: AccessToken, refresh: RefreshToken | None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access_token": access.value,
        "token_type": "bearer",
    }
    if refresh is not None:
        body["refresh_token"] = refresh.value
    body["expires_in"] = state_of(request).config.access_token_ttl
    body["scope"] = " ".join(access.scopes)
    body["api_url"] = str(request.base_url).rstrip("/")
    return body


@router.post("/token")
async def token(request: Request) -> JSONResponse:
    """Zoom's token endpoint: every grant the emulator knows, with Zoom's error numbers."""
    state = state_of(request)
    try:
        form = await _form(request)
        query = dict(request.query_params)
        grant_type = form.get("grant_type") or query.get("grant_type") or ""
        app = authenticate_client(state, request, form)
        if not grant_type:
            raise OAuthError(400, "invalid_request", "Missing grant type.", 4706)
        if not app.enabled:
            raise OAuthError(400, "invalid_request", "The app has been disabled", 4717)
        access, refresh = oauth.grant(state, app, grant_type, form, query)
    except OAuthError:
        state.counters["grant failed"] += 1
        raise
    state.counters[f"grant {grant_type}"] += 1
    return JSONResponse(
        _token_body(request, access, refresh),
        headers={"x-zm-trackingid": tracking_id(), "cache-control": "no-store"},
    )


# ---- revoke --------------------------------------------------------------------------------------
@router.post("/revoke")
async def revoke(request: Request) -> JSONResponse:
    """Revoke a connection: its refresh token and every access token of that user and app."""
    state = state_of(request)
    form = await _form(request)
    app = authenticate_client(state, request, form)
    value = form.get("token") or request.query_params.get("token") or ""
    if not value:
        raise OAuthError(400, "invalid_request", "Token cannot be empty.", 4700)
    oauth.revoke(state, app, value)
    state.counters["revoke"] += 1
    return JSONResponse({"status": "success"}, headers={"x-zm-trackingid": tracking_id()})
