"""Who is calling a REST endpoint, and may they: bearer tokens, scopes and rate limits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request

from prefect_zoom.catalog import OPERATIONS, Operation, missing_scope_message
from prefect_zoom.emulator.errors import ZoomError
from prefect_zoom.emulator.state import AccessToken, EmulatorState, User, now

QUERY_TOKEN_MESSAGE = (
    "Invalid access token, this access token is not supported as query parameter string."
)


@dataclass
class Caller:
    """The token behind a request and who it acts for."""

    token: AccessToken
    user: User | None  # the signed-in user; for S2S, the account's owner acts as "me"
    account_id: str

    @property
    def is_account_level(self) -> bool:
        return self.token.user_id is None


def state_of(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.zoom
    return state


def authenticate(request: Request) -> Caller:
    """Check the ``Authorization: Bearer`` header as Zoom does (401 code 124 on any failure)."""
    state = state_of(request)
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        if "access_token" in request.query_params:
            raise ZoomError(401, 124, QUERY_TOKEN_MESSAGE)
        raise ZoomError(401, 124, "Invalid access token.")
    token = state.access_tokens.get(value.strip())
    if token is None or token.revoked:
        raise ZoomError(401, 124, "Invalid access token.")
    if token.expires_at <= now():
        raise ZoomError(401, 124, "Access token is expired.")
    app = state.apps.get(token.client_id)
    if app is None or not app.enabled:
        raise ZoomError(401, 124, "Invalid access token.")
    if token.user_id is None:
        owner = next(
            (
                u
                for u in state.users.values()
                if u.account_id == token.account_id and u.role_name == "Owner"
            ),
            None,
        )
        return Caller(token=token, user=owner, account_id=token.account_id)
    user = state.users.get(token.user_id)
    if user is None:
        raise ZoomError(401, 124, "Invalid access token.")
    return Caller(token=token, user=user, account_id=user.account_id)


def require_scopes(caller: Caller, operation: Operation, *, user_id: str = "me") -> None:
    """400 / 4711 with Zoom's message when the token lacks every scope the operation accepts."""
    if not operation.is_satisfied_by(caller.token.scopes, user_id=user_id):
        raise ZoomError(400, 4711, missing_scope_message(operation))


def caller_for(operation_name: str) -> Callable[[Request], Awaitable[Caller]]:
    """A FastAPI dependency: authenticate, check scopes, then apply the rate limits.

    It is ``async`` so it runs on the server's event loop, like every route that changes state.
    """
    operation = OPERATIONS[operation_name]

    async def dependency(request: Request) -> Caller:
        caller = authenticate(request)
        user_id = request.path_params.get("userId", "me")
        require_scopes(caller, operation, user_id=str(user_id))
        limiter = request.app.state.rate_limiter
        limiter.check(caller, operation, request)
        request.state.operation = operation.name
        return caller

    return dependency
