"""Who is calling a REST endpoint, and may they: bearer tokens, scopes and rate limits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from zoom_emulator.models.access import Caller
from zoom_emulator.models.errors import zoom_error
from zoom_emulator.models.operations import Operation, operations
from zoom_emulator.models.state import EmulatorState, now


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
            raise zoom_error("token_in_query")
        raise zoom_error("invalid_token")
    token = state.access_tokens.get(value.strip())
    if token is None or token.revoked:
        raise zoom_error("invalid_token")
    if token.expires_at <= now():
        raise zoom_error("expired_token")
    app = state.apps.get(token.client_id)
    if app is None or not app.enabled:
        raise zoom_error("invalid_token")
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
        raise zoom_error("invalid_token")
    return Caller(token=token, user=user, account_id=user.account_id)


def require_scopes(caller: Caller, operation: Operation, *, user_id: str = "me") -> None:
    """400 / 4711 with Zoom's message when the token lacks every scope the operation accepts."""
    if not operation.allows(caller.token.scopes, user_id=user_id):
        raise zoom_error("missing_scopes", scopes=", ".join(operation.granular_scopes))


def caller_for(operation_name: str) -> Callable[[Request], Awaitable[Caller]]:
    """A FastAPI dependency: authenticate, check scopes, then apply the rate limits.

    It is ``async`` so it runs on the server's event loop, like every route that changes state.
    """
    operation = operations()[operation_name]

    async def dependency(request: Request) -> Caller:
        caller = authenticate(request)
        user_id = request.path_params.get("userId", "me")
        require_scopes(caller, operation, user_id=str(user_id))
        limiter = request.app.state.rate_limiter
        limiter.check(caller.account_id, operation)
        request.state.operation = operation.name
        return caller

    return dependency
