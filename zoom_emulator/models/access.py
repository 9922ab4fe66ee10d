"""Who is calling and on whose behalf they may act, as Zoom decides it.

* an account-level token (Server-to-Server OAuth) acts for the account: ``me`` is the account's
  owner and any user of the account may be named by id or email;
* a user-level OAuth token may always address itself (``me``, its id or its email); another user
  of the account only with an ``:admin`` scope of the operation, else HTTP 400 code 200
  "No permission.";
* an id or email that exists on another account: HTTP 400 code 1010; unknown: 404 code 1001.
"""

from __future__ import annotations

from dataclasses import dataclass

from zoom_emulator.models.errors import zoom_error
from zoom_emulator.models.operations import Operation
from zoom_emulator.models.state import AccessToken, EmulatorState, User


@dataclass
class Caller:
    """The token behind a request and who it acts for."""

    token: AccessToken
    user: User | None  # the signed-in user; for S2S, the account's owner acts as "me"
    account_id: str

    @property
    def is_account_level(self) -> bool:
        return self.token.user_id is None


def has_admin_scope(caller: Caller, operation: Operation) -> bool:
    """True when the token holds one of the operation's account-wide (``:admin``) scopes."""
    return not operation.admin_scopes.isdisjoint(caller.token.scopes)


def may_act_for(caller: Caller, operation: Operation, user: User) -> bool:
    """Whether the caller may act on ``user``'s behalf (same account is checked elsewhere)."""
    if caller.is_account_level or (caller.user is not None and caller.user.id == user.id):
        return True
    return has_admin_scope(caller, operation)


def resolve_user(
    state: EmulatorState,
    caller: Caller,
    user_id: str,
    operation: Operation,
    *,
    foreign_as_not_found: bool = False,
) -> User:
    """The user a ``{userId}`` path names (``me``, an id or an email), or Zoom's error.

    ``foreign_as_not_found`` answers a user of another account with 404 code 1001 "User {id} not
    exist or not belong to this account." as the meeting endpoints do, instead of 400 code 1010.
    """
    if user_id == "me":
        if caller.user is None:
            raise zoom_error("user_not_found", user_id=user_id)
        return caller.user
    wanted = user_id.lower()
    matches = [u for u in state.users.values() if u.id == user_id or u.email.lower() == wanted]
    user = next((u for u in matches if u.account_id == caller.account_id), None)
    if user is None:
        if foreign_as_not_found:
            raise zoom_error("user_not_on_account", user_id=user_id)
        if matches:
            raise zoom_error("user_on_other_account", account_id=caller.account_id)
        raise zoom_error("user_not_found", user_id=user_id)
    if not may_act_for(caller, operation, user):
        raise zoom_error("no_permission")
    return user


def owns_or_administers(caller: Caller, operation: Operation, host_id: str) -> bool:
    """Whether the caller may touch a recording of ``host_id``: their own, or with an ``:admin``
    scope of the operation (Server-to-Server tokens included: they act as the owner)."""
    own = caller.user is not None and caller.user.id == host_id
    return own or has_admin_scope(caller, operation)
