"""Users' lifecycle as the emulator keeps it: create, update, activate/deactivate, delete or
disassociate (no HTTP here).

Choices where Zoom is vague, documented here:

* ``create`` sends the person a confirmation email, so the new user is ``pending``; the other
  actions (``autoCreate``, ``custCreate``, ``ssoCreate``) make an ``active`` user at once;
* an email already on the account (any status) answers 409 code 1005; type 99 needs ``ssoCreate``;
* the account's owner cannot be deactivated (400 code 200) nor deleted or disassociated
  (400 code 1117);
* deleting or disassociating a user removes it from the account; its meetings and cloud
  recordings move to ``transfer_email`` when ``transfer_meeting``/``transfer_recording`` ask, and
  are deleted otherwise.
"""

from __future__ import annotations

from zoom_emulator.models.errors import validation_failed, zoom_error
from zoom_emulator.models.inputs import UserCreateIn, UserStatusIn, UserUpdateIn
from zoom_emulator.models.state import EmulatorState, User, utcnow, zoom_time


def create(state: EmulatorState, account_id: str, body: UserCreateIn) -> User:
    """A new user of the account, as ``POST /users`` makes it."""
    info = body.user_info
    if info.type == 99 and body.action != "ssoCreate":
        raise zoom_error("sso_type_only")
    taken = any(
        u.account_id == account_id and u.email.lower() == info.email.lower()
        for u in state.users.values()
    )
    if taken:
        raise zoom_error("email_taken", email=info.email)
    user = state.add_user(
        info.email,
        info.first_name or "",
        info.last_name or "",
        account_id=account_id,
        user_type=info.type,
    )
    user.display_name = info.display_name
    user.status = "pending" if body.action == "create" else "active"
    user.created_by = body.action
    user.created_at = zoom_time(utcnow())
    return user


CREATED_FIELDS = ("id", "first_name", "last_name", "email", "type")


def created_answer(user: User) -> dict[str, object]:
    """The 201 answer of ``POST /users``: these fields of the user."""
    answer = user.as_zoom()
    return {field: answer[field] for field in CREATED_FIELDS}


def update(user: User, body: UserUpdateIn) -> None:
    """Apply ``PATCH /users/{userId}``: only the fields sent change."""
    if body.type == 99 and user.created_by != "ssoCreate":
        raise zoom_error("sso_type_only")
    for name in ("first_name", "last_name", "display_name", "timezone", "dept", "job_title"):
        value = getattr(body, name)
        if value is not None:
            setattr(user, name, value)
    if body.type is not None:
        user.type = body.type


def set_status(user: User, body: UserStatusIn) -> None:
    """Apply ``PUT /users/{userId}/status`` (clocking in or out changes nothing here)."""
    if body.action not in ("activate", "deactivate"):
        return
    if user.role_name in ("Owner", "Admin"):
        raise zoom_error("admin_status")
    user.status = "active" if body.action == "activate" else "inactive"


def remove(
    state: EmulatorState,
    user: User,
    *,
    transfer_email: str | None,
    transfer_meeting: bool,
    transfer_recording: bool,
) -> None:
    """Delete or disassociate ``user``: it leaves the account, its data moves or goes."""
    if user.role_name in ("Owner", "Admin"):
        raise zoom_error("cannot_remove_owner")
    target: User | None = None
    if transfer_email is not None:
        if transfer_email.lower() == user.email.lower():
            raise zoom_error("transfer_to_self")
        target = state.find_user(transfer_email, acting_user=None, account_id=user.account_id)
        if target is None:
            raise zoom_error("user_not_found", user_id=transfer_email)
    elif transfer_meeting or transfer_recording:
        message = "transfer_email is required to transfer meetings or recordings."
        raise validation_failed([{"field": "transfer_email", "message": message}])
    for meeting_id, meeting in list(state.meetings.items()):
        if meeting.host_id != user.id:
            continue
        if target is not None and transfer_meeting:
            meeting.host_id, meeting.host_email = target.id, target.email
        else:
            del state.meetings[meeting_id]
    for uuid, recording in list(state.recordings.items()):
        if recording.host_id != user.id:
            continue
        if target is not None and transfer_recording:
            recording.host_id = target.id
        else:
            del state.recordings[uuid]
            for file in recording.files:
                state.files.pop(file.id, None)
    del state.users[user.id]
