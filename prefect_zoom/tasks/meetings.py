"""Prefect tasks for Zoom meetings: schedule, read, change, delete, invite and register.

Every task takes the connection first (a credentials block, or the name of a saved one), checks
its input before any request is sent (a :class:`~prefect_zoom.exceptions.ZoomInputError` names
the field), and logs only topics and ids: never tokens, start URLs or passcodes.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any, Literal, TypeVar, get_args

import httpx
from prefect import Task
from prefect.client.schemas.objects import TaskRun
from prefect.states import State
from pydantic import Field, StringConstraints

from prefect_zoom.catalog import OPERATIONS, BoundOperation
from prefect_zoom.client.calls import call, call_json, call_pages
from prefect_zoom.client.policy import NEVER_SENT
from prefect_zoom.client.scopes import check_scopes
from prefect_zoom.exceptions import ZoomInputError, ZoomRateLimitError, ZoomServerError
from prefect_zoom.models import (
    InviteLink,
    Meeting,
    MeetingRequest,
    MeetingSettings,
    MeetingType,
    Recurrence,
    Registrant,
    RegistrantRequest,
    ScheduledMeeting,
    ZoomModel,
    parse_input,
)
from prefect_zoom.tasks._common import CredentialsLike, client_for, run_logger, zoom_task
from prefect_zoom.tasks._rerun import MAX_MARKED_AGENDA, key_in, marked_agenda, schedule_key

ListedT = TypeVar("ListedT", bound=ZoomModel)
MeetingListType = Literal["scheduled", "live", "upcoming", "upcoming_meetings", "previous_meetings"]
MAX_INVITE_ATTENDEES = 500
MAX_INVITE_TTL_SECONDS = 7_776_000  # 90 days
MAX_MEETING_ID = 2**63 - 1


# ---- input checks (all run before any request) ---------------------------------------------------
def check_meeting_id(value: Any, field: str = "meeting_id") -> int:
    """A meeting id as Zoom's int64: a positive int (or its digits, spaces allowed)."""
    fix = "Pass the meeting's numeric id, e.g. 81234567890; nothing was sent to Zoom."
    if isinstance(value, str):
        text = value.replace(" ", "")
        if not (text.isascii() and text.isdigit()):
            raise ZoomInputError(field, f"{value!r} is not a meeting id", fix)
        value = int(text)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ZoomInputError(field, f"expected a positive integer, got {type(value).__name__}", fix)
    if not 0 < value <= MAX_MEETING_ID:
        raise ZoomInputError(field, f"{value} is not a positive 64-bit integer", fix)
    return value


def check_occurrence_id(value: Any, field: str = "occurrence_id") -> str | None:
    """An occurrence id (Zoom's digits, as a string) or ``None``."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise ZoomInputError(
            field,
            "expected an occurrence id such as '1648194360000'",
            "Take it from the meeting's occurrences; nothing was sent to Zoom.",
        )
    return value.strip()


def check_user_id(value: Any, field: str = "user_id") -> str:
    """``me``, a user id or an email (stripped); the catalog encodes it for the path."""
    if not isinstance(value, str) or value.strip() in ("", ".", "..") or "/" in value:
        raise ZoomInputError(
            field,
            f"expected 'me', a user id or an email, got {value!r}",
            "Pass 'me' (the connection's user), a Zoom user id or an email address.",
        )
    return value.strip()


def check_choice(value: Any, choices: tuple[str, ...], field: str) -> str:
    """One of a fixed set of strings."""
    if value not in choices:
        raise ZoomInputError(
            field, f"{value!r} is not one of {', '.join(choices)}", "Pick one of the listed values."
        )
    return str(value)


class InviteLinksInput(ZoomModel):
    """What ``create_invitation_links`` checks before sending."""

    attendee_names: list[
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    ] = Field(..., min_length=1, max_length=MAX_INVITE_ATTENDEES)
    ttl_seconds: int = Field(7200, ge=0, le=MAX_INVITE_TTL_SECONDS)


# ---- retries ------------------------------------------------------------------------------------
def retry_if_not_created(_task: Task[Any, Any], _run: TaskRun, state: State[Any]) -> bool:
    """Retry a create only when Zoom surely did not act: a per-second 429, or no connection made.

    A 5xx answer to a ``POST`` may come after Zoom created the meeting; another try could make a
    second one (and spend another of the host's 100 daily creates), so it is left to the caller.
    """
    try:
        state.result()
    except ZoomRateLimitError as error:
        return error.limit_type != "Daily-limit"
    except ZoomServerError as error:
        return error.status is None and isinstance(error.__cause__, NEVER_SENT)
    except Exception:
        return False
    return False


_creating = partial(
    zoom_task, "create_meeting", tags=("meetings",), retry_condition=retry_if_not_created
)
"""The decorator of the tasks that create a meeting without looking for it first."""


# ---- shared bodies ------------------------------------------------------------------------------
def _create_on(zoom: Any, create: BoundOperation, body: Any) -> httpx.Response:
    """Send a create operation with its body; Zoom answers 201 (a 200 is accepted too)."""
    return call(zoom, create, json=body, expected=(201, 200))


def _post_meeting(zoom: Any, request: MeetingRequest, user_id: str) -> Meeting:
    create = OPERATIONS["create_meeting"].bind(user_id=user_id)
    response = _create_on(zoom, create, request.to_zoom())
    meeting = Meeting.model_validate(response.json())
    run_logger().info(
        "Created Zoom meeting %s (%r, type %s, %d occurrence(s))",
        meeting.id,
        meeting.topic,
        meeting.type,
        len(meeting.occurrences),
    )
    return meeting


def _create(credentials: CredentialsLike, request: MeetingRequest, user_id: str) -> Meeting:
    with client_for(credentials) as zoom:
        return _post_meeting(zoom, request, user_id)


def check_topic_and_duration(topic: Any, duration_minutes: Any, prefix: str) -> None:
    """A non-empty topic and a positive whole number of minutes; errors name ``prefix.topic``
    and ``prefix.duration``."""
    if not isinstance(topic, str) or not topic.strip():
        raise ZoomInputError(
            f"{prefix}.topic", "a topic is required", f"Give the {prefix} a non-empty topic."
        )
    if isinstance(duration_minutes, bool) or not isinstance(duration_minutes, int):
        raise ZoomInputError(
            f"{prefix}.duration", "expected whole minutes", "Pass duration_minutes as an int."
        )
    if duration_minutes <= 0:
        raise ZoomInputError(
            f"{prefix}.duration",
            f"{duration_minutes} is not a positive number of minutes",
            "Pass a duration of at least one minute.",
        )


def scheduled_request(
    topic: Any,
    start_time: Any,
    duration_minutes: Any,
    recurrence: Any,
    timezone: str | None,
    password: str | None,
    agenda: str | None,
    settings: MeetingSettings | dict[str, Any] | None,
    *,
    prefix: str = "meeting",
) -> MeetingRequest:
    """The checked request of a one-time meeting, or a fixed-time recurring one with
    ``recurrence`` (the schedule tasks' parameters, in their order); errors name fields under
    ``prefix`` (``meeting.topic``; a webinar's are ``webinar.topic``)."""
    check_topic_and_duration(topic, duration_minutes, prefix)
    if start_time is None:
        raise ZoomInputError(
            f"{prefix}.start_time", "a start time is required", "Pass a datetime (time-zone aware)."
        )
    data: dict[str, Any] = {
        "topic": topic,
        "type": MeetingType.RECURRING_FIXED_TIME if recurrence else MeetingType.SCHEDULED,
        "start_time": start_time,
        "duration": duration_minutes,
        "timezone": timezone,
        "password": password,
        "agenda": agenda,
        "settings": settings,
    }
    if recurrence is not None:
        data["recurrence"] = parse_input(Recurrence, recurrence, prefix=f"{prefix}.recurrence")
    return parse_input(MeetingRequest, data, prefix=prefix)


def keyed_request(
    *,
    user_id: str,
    topic: Any,
    start_time: Any,
    duration_minutes: Any,
    recurrence: Any = None,
    timezone: str | None = None,
    password: str | None = None,
    agenda: str | None = None,
    settings: MeetingSettings | dict[str, Any] | None = None,
) -> tuple[MeetingRequest, str]:
    """The checked request (one-time, or fixed-time recurring with ``recurrence``) and its key.

    The request's agenda starts with the key's marker line; raises ``ZoomInputError`` first.
    """
    request = scheduled_request(
        topic, start_time, duration_minutes, recurrence, timezone, password, agenda, settings
    )
    if agenda is not None and len(agenda) > MAX_MARKED_AGENDA:
        raise ZoomInputError(
            "meeting.agenda",
            f"has {len(agenda)} characters; at most {MAX_MARKED_AGENDA} fit beside the "
            "schedule key the pack adds to Zoom's 2000",
            "Shorten the agenda; nothing was sent to Zoom.",
        )
    check_user_id(user_id)
    key = schedule_key(user_id, request)
    return request.model_copy(update={"agenda": marked_agenda(key, agenda)}), key


def _find_keyed_meeting(zoom: Any, user_id: str, key: str) -> Meeting | None:
    """The host's scheduled meeting whose agenda carries ``key`` (one list, every page)."""
    scheduled = OPERATIONS["list_meetings"].bind(user_id=user_id)
    for item in call_pages(zoom, scheduled, "meetings", {"type": "scheduled"}):
        if key_in(item.get("agenda")) == key:
            return Meeting.model_validate(item)
    return None


def delete_scheduled(
    credentials: CredentialsLike,
    delete: BoundOperation,
    occurrence: str | None,
    reminder: dict[str, bool],
) -> None:
    """Send a meeting's or webinar's delete, of one ``occurrence`` when given; ``reminder``
    names Zoom's e-mail flag and whether it is wanted."""
    params: dict[str, Any] = {name: "true" for name, wanted in reminder.items() if wanted}
    if occurrence:
        params["occurrence_id"] = occurrence
    with client_for(credentials) as zoom:
        call(zoom, delete, params=params or None, expected=(204, 200))
    what = f"occurrence {occurrence} of {delete.path}" if occurrence else delete.path
    run_logger().info("Deleted %s on Zoom", what)


def list_of_kind(
    credentials: CredentialsLike,
    operation: str,
    user_id: str,
    kind: str,
    kinds: tuple[str, ...],
    model: type[ListedT],
) -> list[ListedT]:
    """Every page of a user's list ``operation`` (``list_meetings``…) of one ``type``, each item
    as ``model``."""
    listing = OPERATIONS[operation].bind(user_id=check_user_id(user_id))
    checked = check_choice(kind, kinds, "type")
    items_key = operation.removeprefix("list_")
    with client_for(credentials) as zoom:
        found = [
            model.model_validate(item)
            for item in call_pages(zoom, listing, items_key, {"type": checked})
        ]
    run_logger().info("Listed %d %s Zoom %s", len(found), checked, items_key)
    return found


# ---- tasks --------------------------------------------------------------------------------------
@_creating(name="Zoom: create meeting")
def create_meeting(
    credentials: CredentialsLike,
    meeting: MeetingRequest | dict[str, Any],
    user_id: str = "me",
) -> Meeting:
    """Create a Zoom meeting for a user (``me`` by default) from a full meeting request.

    Needs `meeting:write` (classic) or `meeting:write:meeting` (granular). Counts toward Zoom's
    100 meeting creates/updates per host per day. Returns the meeting with its join URL.
    """
    request = parse_input(MeetingRequest, meeting, prefix="meeting")
    return _create(credentials, request, check_user_id(user_id))


@_creating(name="Zoom: schedule one-time meeting")
def schedule_one_time_meeting(
    credentials: CredentialsLike,
    topic: str,
    start_time: datetime,
    duration_minutes: int,
    *,
    timezone: str | None = None,
    password: str | None = None,
    agenda: str | None = None,
    settings: MeetingSettings | dict[str, Any] | None = None,
    user_id: str = "me",
) -> Meeting:
    """Schedule a one-time Zoom meeting (type 2) at ``start_time`` for ``duration_minutes``.

    ``start_time`` is time-zone aware, or naive with ``timezone`` naming its zone. ``password``
    holds at most 10 letters, digits or ``@ - _ *``. Needs `meeting:write` / `meeting:write:meeting`.
    """
    request = scheduled_request(
        topic, start_time, duration_minutes, None, timezone, password, agenda, settings
    )
    return _create(credentials, request, check_user_id(user_id))


@_creating(name="Zoom: schedule recurring meeting")
def schedule_recurring_meeting(
    credentials: CredentialsLike,
    topic: str,
    start_time: datetime,
    duration_minutes: int,
    recurrence: Recurrence | dict[str, Any],
    *,
    timezone: str | None = None,
    password: str | None = None,
    agenda: str | None = None,
    settings: MeetingSettings | dict[str, Any] | None = None,
    user_id: str = "me",
) -> Meeting:
    """Schedule a recurring Zoom meeting with a fixed time (type 8); returns its occurrences.

    ``recurrence``: daily, weekly (``weekly_days``, 1 = Sunday) or monthly (``monthly_day``, or
    ``monthly_week`` + ``monthly_week_day``), every ``repeat_interval``, ending after
    ``end_times`` occurrences or at ``end_date_time``. Needs `meeting:write` / `meeting:write:meeting`.
    """
    if recurrence is None:
        raise ZoomInputError(
            "meeting.recurrence",
            "a recurring meeting needs a recurrence",
            "Pass e.g. {'type': 2, 'weekly_days': 'monday', 'end_times': 10}.",
        )
    request = scheduled_request(
        topic, start_time, duration_minutes, recurrence, timezone, password, agenda, settings
    )
    return _create(credentials, request, check_user_id(user_id))


@zoom_task("create_meeting", name="Zoom: schedule meeting once", tags=("meetings",))
def schedule_meeting_once(
    credentials: CredentialsLike,
    topic: str,
    start_time: datetime,
    duration_minutes: int,
    *,
    recurrence: Recurrence | dict[str, Any] | None = None,
    timezone: str | None = None,
    password: str | None = None,
    agenda: str | None = None,
    settings: MeetingSettings | dict[str, Any] | None = None,
    user_id: str = "me",
) -> ScheduledMeeting:
    """Schedule a one-time meeting, or a fixed-time recurring one with ``recurrence``, unless
    an earlier call already did: safe to run again, and to retry.

    The key (host, topic, start, recurrence) goes into the first line of the agenda (at most
    1964 characters are left for yours). Every attempt first lists the host's scheduled meetings
    and returns the one carrying the key (``already_scheduled``); so, unlike the other create
    tasks, it is retried after any transient error. Needs `meeting:write` and `meeting:read`
    (classic), or `meeting:write:meeting` and `meeting:read:list_meetings` (granular).
    """
    request, key = keyed_request(
        user_id=user_id,
        topic=topic,
        start_time=start_time,
        duration_minutes=duration_minutes,
        recurrence=recurrence,
        timezone=timezone,
        password=password,
        agenda=agenda,
        settings=settings,
    )
    host = check_user_id(user_id)
    with client_for(credentials) as zoom:
        found = _find_keyed_meeting(zoom, host, key)
        if found is not None:
            run_logger().info(
                "Zoom meeting %s (%r) was already scheduled (key %s)", found.id, found.topic, key
            )
            return ScheduledMeeting(meeting=found, key=key, already_scheduled=True)
        meeting = _post_meeting(zoom, request, host)
    return ScheduledMeeting(meeting=meeting, key=key)


def _get(zoom: Any, meeting_id: int, occurrence_id: str | None) -> Meeting:
    params = {"occurrence_id": occurrence_id} if occurrence_id else None
    data = call_json(zoom, OPERATIONS["get_meeting"].bind(meeting_id=meeting_id), params=params)
    return Meeting.model_validate(data)


@zoom_task("get_meeting", name="Zoom: get meeting", tags=("meetings",))
def get_meeting(
    credentials: CredentialsLike, meeting_id: int, occurrence_id: str | None = None
) -> Meeting:
    """Get a Zoom meeting by id (one occurrence's time with ``occurrence_id``).

    Needs `meeting:read` (classic) or `meeting:read:meeting` (granular). A deleted or unknown
    meeting raises ``ZoomNotFoundError`` (HTTP 404, code 3001).
    """
    meeting_id = check_meeting_id(meeting_id)
    occurrence = check_occurrence_id(occurrence_id)
    with client_for(credentials) as zoom:
        meeting = _get(zoom, meeting_id, occurrence)
    run_logger().info("Got Zoom meeting %s (%r)", meeting.id, meeting.topic)
    return meeting


@zoom_task("update_meeting", name="Zoom: update meeting", tags=("meetings",))
def update_meeting(
    credentials: CredentialsLike,
    meeting_id: int,
    changes: MeetingRequest | dict[str, Any],
    occurrence_id: str | None = None,
) -> Meeting:
    """Change a Zoom meeting's fields (only those given); return the meeting as it now is.

    With ``occurrence_id`` only that occurrence's start time and duration move. Zoom answers
    204 without a body, so the meeting is read again. Needs `meeting:write` or
    `meeting:update:meeting`, plus `meeting:read` / `meeting:read:meeting` for the read-back.
    Counts toward Zoom's 100 meeting creates/updates per host per day.
    """
    meeting_id = check_meeting_id(meeting_id)
    update = OPERATIONS["update_meeting"].bind(meeting_id=meeting_id)
    read_back = OPERATIONS["get_meeting"].bind(meeting_id=meeting_id)
    data = patch_and_read(credentials, update, read_back, changes, occurrence_id)
    return Meeting.model_validate(data)


def patch_and_read(
    credentials: CredentialsLike,
    update: BoundOperation,
    read_back: BoundOperation,
    changes: MeetingRequest | dict[str, Any],
    occurrence_id: str | None,
) -> Any:
    """Send a meeting's or webinar's ``PATCH`` of ``changes`` (checked first; of one occurrence
    with ``occurrence_id``), then read it back: Zoom answers 204 without a body. The read scope
    is checked before anything changes. A meeting update counted in its host's daily cap
    across workers (:mod:`prefect_zoom.client.daily`) reads the meeting first, for its host."""
    occurrence = check_occurrence_id(occurrence_id)
    request = parse_input(MeetingRequest, changes, prefix="changes")
    body = request.to_zoom()
    if not body:
        raise ZoomInputError(
            "changes", "nothing to change", "Give at least one field, e.g. {'topic': 'New topic'}."
        )
    params = {"occurrence_id": occurrence} if occurrence else None
    with client_for(credentials) as zoom:
        check_scopes(
            read_back.operation,
            read_back.path,
            zoom.granted_scopes,
            reconnect_command=zoom.tokens.reconnect_command,
        )
        if update.operation.counts_toward_daily_meeting_cap and zoom.counts_meeting_writes():
            # Zoom counts the update against the meeting's host, whom the PATCH does not name
            host = call_json(zoom, read_back, params=params)["host_id"]
            zoom.count_meeting_write(host, method=update.method, path=update.path)
        call(zoom, update, params=params, json=body, expected=(204, 200))
        data = call_json(zoom, read_back, params=params)
    run_logger().info("Updated %s on Zoom (%s)", update.path, ", ".join(sorted(body)))
    return data


@zoom_task("delete_meeting", name="Zoom: delete meeting", tags=("meetings",))
def delete_meeting(
    credentials: CredentialsLike,
    meeting_id: int,
    occurrence_id: str | None = None,
    cancel_meeting_reminder: bool = False,
) -> None:
    """Delete a Zoom meeting, or with ``occurrence_id`` one occurrence of a recurring meeting.

    ``cancel_meeting_reminder`` e-mails the host and registrants about the cancellation.
    Needs `meeting:write` (classic) or `meeting:delete:meeting` (granular).
    """
    meeting_id = check_meeting_id(meeting_id)
    delete = OPERATIONS["delete_meeting"].bind(meeting_id=meeting_id)
    reminder = {"cancel_meeting_reminder": cancel_meeting_reminder}
    delete_scheduled(credentials, delete, check_occurrence_id(occurrence_id), reminder)


@zoom_task("list_meetings", name="Zoom: list meetings", tags=("meetings",))
def list_meetings(
    credentials: CredentialsLike,
    user_id: str = "me",
    type: MeetingListType = "scheduled",
) -> list[Meeting]:
    """List a user's meetings of one ``type`` (scheduled, live, upcoming, …), every page.

    Needs `meeting:read` (classic) or `meeting:read:list_meetings` (granular).
    """
    kinds = get_args(MeetingListType)
    return list_of_kind(credentials, "list_meetings", user_id, type, kinds, Meeting)


@zoom_task("create_invite_links", name="Zoom: create invitation links", tags=("meetings",))
def create_invitation_links(
    credentials: CredentialsLike,
    meeting_id: int,
    attendee_names: list[str],
    ttl_seconds: int = 7200,
) -> list[InviteLink]:
    """Create a personal join link for each attendee name (1 to 500), valid ``ttl_seconds``.

    ``ttl_seconds`` is at most 7,776,000 (90 days). Needs `meeting:write` (classic) or
    `meeting:write:invite_links` (granular).
    """
    meeting_id = check_meeting_id(meeting_id)
    if isinstance(attendee_names, str):
        attendee_names = [attendee_names]
    checked = parse_input(
        InviteLinksInput, {"attendee_names": attendee_names, "ttl_seconds": ttl_seconds}
    )
    body = {
        "attendees": [{"name": name} for name in checked.attendee_names],
        "ttl": checked.ttl_seconds,
    }
    create = OPERATIONS["create_invite_links"].bind(meeting_id=meeting_id)
    with client_for(credentials) as zoom:
        response = _create_on(zoom, create, body)
    data = response.json() if response.content else {}
    links = [InviteLink.model_validate(item) for item in data.get("attendees") or []]
    run_logger().info("Created %d invitation link(s) for Zoom meeting %s", len(links), meeting_id)
    return links


@zoom_task("get_meeting_invitation", name="Zoom: get meeting invitation", tags=("meetings",))
def get_meeting_invitation(credentials: CredentialsLike, meeting_id: int) -> str:
    """Get a meeting's invitation text, ready to paste into an e-mail or calendar entry.

    Needs `meeting:read` (classic) or `meeting:read:invitation` (granular).
    """
    meeting_id = check_meeting_id(meeting_id)
    with client_for(credentials) as zoom:
        data = call_json(zoom, OPERATIONS["get_meeting_invitation"].bind(meeting_id=meeting_id))
    run_logger().info("Got the invitation of Zoom meeting %s", meeting_id)
    return str((data or {}).get("invitation") or "")


@zoom_task("add_meeting_registrant", name="Zoom: add meeting registrant", tags=("meetings",))
def add_meeting_registrant(
    credentials: CredentialsLike,
    meeting_id: int,
    registrant: RegistrantRequest | dict[str, Any],
) -> Registrant:
    """Register someone (email, first name, optional last name) for a meeting.

    The meeting needs registration on (``settings.approval_type`` 0 or 1). Needs `meeting:write`
    (classic) or `meeting:write:registrant` (granular). Returns the registrant's join URL. Safe to
    retry: Zoom answers an email already registered with that registration again.
    """
    create = OPERATIONS["add_meeting_registrant"].bind(meeting_id=check_meeting_id(meeting_id))
    return register_on(credentials, create, registrant)


def register_on(
    credentials: CredentialsLike,
    create: BoundOperation,
    registrant: RegistrantRequest | dict[str, Any],
) -> Registrant:
    """Send a meeting's or webinar's registrant add (``registrant`` checked first)."""
    request = parse_input(RegistrantRequest, registrant, prefix="registrant")
    with client_for(credentials) as zoom:
        response = _create_on(zoom, create, request.to_zoom())
    added = Registrant.model_validate(response.json())
    run_logger().info("Registered %s on %s", added.registrant_id, create.path)
    return added


__all__ = [
    "add_meeting_registrant",
    "create_invitation_links",
    "create_meeting",
    "delete_meeting",
    "get_meeting",
    "get_meeting_invitation",
    "list_meetings",
    "schedule_meeting_once",
    "schedule_one_time_meeting",
    "schedule_recurring_meeting",
    "update_meeting",
]
