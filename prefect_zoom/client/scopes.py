"""Refuse a request the connection's scopes cannot do, before it is sent (Zoom would answer 4711)."""

from __future__ import annotations

from prefect_zoom.catalog import Operation, user_id_in
from prefect_zoom.exceptions import ZoomMissingScopesError


def check_scopes(
    operation: Operation | None,
    path: str,
    granted: list[str] | None,
    *,
    reconnect_command: str | None = None,
) -> None:
    """Raise :class:`ZoomMissingScopesError` before sending when the grant cannot do it
    (an operation that declares no scopes, a raw request's, is left to Zoom)."""
    if operation is None or not granted or not operation.all_scopes:
        return
    user_id = user_id_in(operation, path)
    if operation.is_satisfied_by(granted, user_id=user_id):
        return
    raise ZoomMissingScopesError(
        f"The connection's scopes do not allow {operation.name} ({operation.method} "
        f"{operation.path}); it needs one of: {', '.join(operation.usable_scopes(user_id=user_id))}.",
        missing_scopes=list(operation.granular_scopes),
        scopes_to_add=list(operation.scopes_to_add(user_id=user_id)),
        reconnect_command=reconnect_command,
        method=operation.method,
        path=path,
    )
