"""Zoom's OAuth rules: redirect-URI matching, PKCE, and what each grant and a revocation do to
the tokens (no HTTP here). The behaviour is described in :mod:`zoom_emulator.routes.oauth`."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import urlsplit

from zoom_emulator.models.errors import OAuthError
from zoom_emulator.models.state import AccessToken, App, EmulatorState, RefreshToken, User, now

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def invalid_token() -> OAuthError:
    """Zoom's answer to a dead or unknown refresh token, exactly."""
    return OAuthError(400, "invalid_grant", "Invalid Token!")


def redirect_uri_matches(registered: str, given: str) -> bool:
    """Exact match, or the same loopback host, path and query with any port (Zoom's rule)."""
    if registered == given:
        return True
    try:
        reg, giv = urlsplit(registered), urlsplit(given)
    except ValueError:
        return False
    return (
        reg.scheme == giv.scheme == "http"
        and reg.hostname in LOOPBACK_HOSTS
        and reg.hostname == giv.hostname
        and (reg.path or "/") == (giv.path or "/")
        and reg.query == giv.query
    )


def preapproval_blocked(state: EmulatorState, app: App, user: User) -> bool:
    account = state.accounts.get(user.account_id)
    return bool(account and account.requires_preapproval and not app.preapproved)


def live_user(state: EmulatorState, user_id: str) -> User | None:
    user = state.users.get(user_id)
    return user if user is not None and user.status == "active" else None


def pkce_matches(challenge: str, method: str, verifier: str) -> bool:
    """RFC 7636: ``S256`` compares base64url-no-padding(sha256(verifier)); ``plain`` compares as is."""
    if method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    else:
        expected = verifier
    return hmac.compare_digest(expected.encode(), challenge.encode())


def check_user_grant(state: EmulatorState, app: App, user_id: str) -> User:
    """A user token may be issued: the user still exists and the app is still pre-approved."""
    user = live_user(state, user_id)
    if user is None:
        raise OAuthError(400, "invalid_grant", "The token owner no longer exists.", 4735)
    if preapproval_blocked(state, app, user):
        raise OAuthError(
            400,
            "invalid_request",
            "The app has been disabled by the account admin: it needs pre-approval "
            "(Marketplace > Manage > Permissions).",
            4738,
        )
    return user


def issue_user_tokens(
    state: EmulatorState, app: App, user_id: str, scopes: list[str]
) -> tuple[AccessToken, RefreshToken]:
    """A new access and refresh token pair; the user's older access tokens for the app die."""
    access = state.issue_access_token(app, user_id=user_id, scopes=scopes)
    state.kill_access_tokens(app.client_id, user_id, keep=access.value)
    refresh = state.issue_refresh_token(app, user_id=user_id, scopes=scopes)
    return access, refresh


def unsupported_grant() -> OAuthError:
    return OAuthError(
        400, "unsupported_grant_type", "Grant type is not supported from token endpoint.", 4705
    )


def require_kind(app: App, kind: str) -> None:
    """4705 when the grant is not one this kind of app may use."""
    if app.kind != kind:
        raise unsupported_grant()


def grant_authorization_code(
    state: EmulatorState, app: App, form: Mapping[str, str]
) -> tuple[AccessToken, RefreshToken]:
    require_kind(app, "oauth")
    code = state.codes.get(form.get("code", ""))
    if code is None or code.used or code.client_id != app.client_id:
        raise OAuthError(400, "invalid_request", "Invalid authorization code.", 4734)
    if code.expires_at <= now():
        code.used = True
        raise OAuthError(400, "invalid_request", "Authorization code is expired.", 4733)
    code.used = True  # burnt by this attempt, whatever follows
    if not redirect_uri_matches(code.redirect_uri, form.get("redirect_uri", "")):
        raise OAuthError(400, "invalid_request", "Redirect URI mismatch.", 4709)
    if code.code_challenge is not None:
        verifier = form.get("code_verifier", "")
        if not verifier or not pkce_matches(
            code.code_challenge, code.code_challenge_method, verifier
        ):
            raise OAuthError(400, "invalid_grant", "Invalid code_verifier.")
    check_user_grant(state, app, code.user_id)
    access, refresh = issue_user_tokens(state, app, code.user_id, list(app.scopes))
    # the newest authorization wins: older refresh tokens of this connection die (4741)
    state.kill_refresh_tokens(
        app.client_id, code.user_id, reason="reauthorized", keep=refresh.value
    )
    return access, refresh


def grant_refresh_token(
    state: EmulatorState, app: App, form: Mapping[str, str]
) -> tuple[AccessToken, RefreshToken]:
    require_kind(app, "oauth")
    presented = state.refresh_tokens.get(form.get("refresh_token", ""))
    if presented is None or presented.client_id != app.client_id:
        raise invalid_token()
    if not presented.alive:
        if presented.killed_by == "reauthorized":
            raise OAuthError(
                400, "invalid_grant", "Token has been revoked by a newer authorization.", 4741
            )
        raise invalid_token()
    check_user_grant(state, app, presented.user_id)
    presented.alive = False
    presented.killed_by = "rotation"
    return issue_user_tokens(state, app, presented.user_id, list(presented.scopes))


def grant_account_credentials(
    state: EmulatorState, app: App, form: Mapping[str, str], query: Mapping[str, str]
) -> AccessToken:
    require_kind(app, "s2s")
    account_id = query.get("account_id") or form.get("account_id") or ""
    if not account_id:
        raise OAuthError(400, "invalid_request", "Missing account_id.")
    if account_id != app.account_id:
        raise OAuthError(
            400, "invalid_request", "Invalid account_id: it is not the account of this app."
        )
    access = state.issue_access_token(app, user_id=None, scopes=list(app.scopes))
    if state.config.s2s_single_token:
        state.kill_access_tokens(app.client_id, None, keep=access.value)
    return access


def grant(
    state: EmulatorState,
    app: App,
    grant_type: str,
    form: Mapping[str, str],
    query: Mapping[str, str],
) -> tuple[AccessToken, RefreshToken | None]:
    """Carry out a token request's grant: the tokens it issues, or Zoom's error."""
    if grant_type == "authorization_code":
        return grant_authorization_code(state, app, form)
    if grant_type == "refresh_token":
        return grant_refresh_token(state, app, form)
    if grant_type == "account_credentials":
        return grant_account_credentials(state, app, form, query), None
    raise unsupported_grant()


def revoke(state: EmulatorState, app: App, value: str) -> None:
    """Revoke the connection of a token of ``app``: an S2S token alone, or a user's refresh token
    and every access token of that user and app. Another app's or an unknown token: nothing."""
    access = state.access_tokens.get(value)
    refresh = state.refresh_tokens.get(value)
    user_id: str | None = None
    if access is not None and access.client_id == app.client_id:
        if access.user_id is None:
            access.revoked = True  # an S2S token: just this one
        else:
            user_id = access.user_id
    elif refresh is not None and refresh.client_id == app.client_id:
        user_id = refresh.user_id
    if user_id is not None:
        state.kill_refresh_tokens(app.client_id, user_id, reason="revoke")
        state.kill_access_tokens(app.client_id, user_id)
