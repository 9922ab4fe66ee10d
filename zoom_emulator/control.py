"""The ``/_emulator/`` control surface: seed data, read counters, change settings, break things."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from zoom_emulator.config import FaultSettings, RatePlan
from zoom_emulator.models import content, past_meetings
from zoom_emulator.models.errors import ZoomError, zoom_error
from zoom_emulator.models.inputs import MeetingIn
from zoom_emulator.models.meetings import Meeting, build_meeting
from zoom_emulator.models.past_meetings import Attendee
from zoom_emulator.models.seed import (
    FILE_KINDS,
    add_recording,
    complete_processing,
    meeting_uuid,
)
from zoom_emulator.models.state import EmulatorState, RecordingMeeting, User, now, zoom_time
from zoom_emulator.models.webinars import hold
from zoom_emulator.routes import webhooks
from zoom_emulator.routes.auth import state_of
from zoom_emulator.routes.meetings import read_body

router = APIRouter(tags=["emulator controls"])
router.include_router(webhooks.router)  # /webhook...: signed webhooks (emulator/webhooks.py)


class NewUser(BaseModel):
    email: str
    first_name: str = "New"
    last_name: str = "User"
    password: str | None = None
    role_name: str = "Member"


class NewRecording(BaseModel):
    user: str = Field("me", description="Host: id or email; `me` is the account owner.")
    topic: str = "Seeded recording"
    start_time: datetime | None = Field(None, description="Default: yesterday 12:00 UTC.")
    duration: int = 30
    mp4_bytes: int = Field(1_000_000, ge=1)
    file_types: list[str] = Field(default_factory=lambda: ["MP4", "M4A", "TRANSCRIPT", "CHAT"])
    uuid: str | None = Field(None, description="Force a UUID (e.g. one with '/' or '//').")
    processing_file_types: list[str] = Field(
        default_factory=list,
        description="File types Zoom is still processing: listed with `status: processing`, "
        "not downloadable until `POST /_emulator/recordings/{uuid}/complete`.",
    )


class WebinarAttendee(BaseModel):
    """Someone who came to a held webinar (the body of `POST /_emulator/webinars/{id}/held`)."""

    name: str
    email: str
    joined_after_minutes: float = Field(0, ge=0, description="When they joined, from the start.")
    minutes: float = Field(1, gt=0, description="How long they stayed.")


class HeldWebinar(BaseModel):
    start_time: datetime | None = Field(None, description="Default: the webinar's start, or now.")
    attendees: list[WebinarAttendee] = Field(default_factory=list)


class ConfigChange(BaseModel):
    access_token_ttl: int | None = Field(None, ge=1)
    code_ttl: int | None = Field(None, ge=1)
    page_token_ttl: int | None = Field(None, ge=1)
    rate_limits: RatePlan | None = None
    s2s_single_token: bool | None = None
    require_preapproval: bool | None = None


class ConnectionSelector(BaseModel):
    """Which tokens an action hits: by app and/or user; nothing given means every token."""

    client_id: str | None = None
    user: str | None = Field(None, description="User id or email; omitted: every user.")


def _host(state: EmulatorState, key: str) -> User:
    if key == "me":
        return state.owner()
    for user in state.users.values():
        if key in (user.id, user.email):
            return user
    raise zoom_error("user_not_found", user_id=key)


def _selects(
    state: EmulatorState, selector: ConnectionSelector
) -> Callable[[str, str | None], bool]:
    """A predicate over (client id, user id) for the tokens the selector names."""
    user_id = _host(state, selector.user).id if selector.user else None

    def selected(client_id: str, token_user_id: str | None) -> bool:
        if selector.client_id and client_id != selector.client_id:
            return False
        return not (user_id and token_user_id != user_id)

    return selected


@router.get("/state")
async def describe(request: Request) -> dict[str, Any]:
    """What the emulator holds: users, apps, meetings, recordings, live tokens, and its settings."""
    state = state_of(request)
    live = [t for t in state.access_tokens.values() if not t.revoked and t.expires_at > now()]
    return {
        "config": state.config.model_dump(
            exclude={
                "user_password",
                "oauth_client_secret",
                "s2s_client_secret",
                "webhook_secret_token",
            }
        ),
        "users": [u.as_zoom() for u in state.users.values()],
        "apps": [
            {"client_id": a.client_id, "kind": a.kind, "name": a.name, "preapproved": a.preapproved}
            for a in state.apps.values()
        ],
        "meetings": len(state.meetings),
        "recordings": len(state.recordings),
        "live_access_tokens": len(live),
        "live_refresh_tokens": sum(1 for r in state.refresh_tokens.values() if r.alive),
    }


@router.get("/counters")
async def counters(request: Request) -> dict[str, int]:
    """Requests by ``METHOD /route status``, grants by type, 429s, faults, download bytes."""
    return dict(state_of(request).counters)


@router.post("/counters/reset", status_code=204)
async def reset_counters(request: Request) -> None:
    state_of(request).counters.clear()


@router.post("/users", status_code=201)
async def create_user(request: Request, new: NewUser) -> dict[str, Any]:
    state = state_of(request)
    if any(u.email.lower() == new.email.lower() for u in state.users.values()):
        raise ZoomError(409, 1005, f"User already in the account: {new.email}.")
    user = state.add_user(
        new.email, new.first_name, new.last_name, password=new.password, role_name=new.role_name
    )
    return user.as_zoom()


@router.post("/recordings", status_code=201)
async def create_recording(request: Request, new: NewRecording) -> dict[str, Any]:
    """Add a recorded meeting; its files' ids, sizes, content types and statuses come back.

    ``processing_file_types`` are still processing: listed with ``status: "processing"``, their
    downloads answer 404 and ``recording.completed`` waits for ``…/complete``.
    """
    state = state_of(request)
    unknown = [t for t in new.file_types if t not in FILE_KINDS]
    if unknown:
        raise ZoomError(400, 300, f"Unknown file types {unknown}; use {sorted(FILE_KINDS)}.")
    not_there = [t for t in new.processing_file_types if t not in new.file_types]
    if not_there:
        raise ZoomError(
            400,
            300,
            f"processing_file_types {not_there} are not among file_types {new.file_types}.",
        )
    start = new.start_time or datetime.now(UTC).replace(
        hour=12, minute=0, second=0, microsecond=0
    ) - timedelta(days=1)
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    recording = add_recording(
        state,
        _host(state, new.user).id,
        topic=new.topic,
        start_time=start,
        mp4_bytes=new.mp4_bytes,
        file_types=tuple(new.file_types),
        duration=new.duration,
        uuid=new.uuid,
        processing=set(new.processing_file_types),
    )
    if not new.processing_file_types:  # Zoom sends it once every file is processed
        webhooks.recording_completed(request, recording)  # when a webhook is subscribed
    return _recording_answer(recording)


@router.post("/recordings/{uuid:path}/complete")
async def complete_recording(request: Request, uuid: str) -> dict[str, Any]:
    """Finish processing a recording's files (``uuid`` URL-encoded once), as Zoom does later;
    then, if any was processing, ``recording.completed`` goes out when a webhook is subscribed."""
    state = state_of(request)
    recording = state.recordings.get(uuid)
    if recording is None:
        raise zoom_error("no_recording")
    if complete_processing(recording):
        webhooks.recording_completed(request, recording)
    return _recording_answer(recording)


def _recording_answer(recording: RecordingMeeting) -> dict[str, Any]:
    return {
        "uuid": recording.uuid,
        "id": recording.meeting_id,
        "host_id": recording.host_id,
        "topic": recording.topic,
        "start_time": zoom_time(recording.start_time),
        "files": [
            {
                "id": f.id,
                "file_type": f.file_type,
                "file_size": f.file_size,
                "content_type": f.content_type,
                "status": f.status,
            }
            for f in recording.files
        ],
    }


class NewAttendee(BaseModel):
    name: str = Field(min_length=1)
    email: str = ""
    sessions: list[tuple[int, int]] = Field(
        default_factory=lambda: [(0, 30)],
        min_length=1,
        description="(join, leave) minutes after the start; several for someone who rejoined.",
    )


class NewHeldMeeting(BaseModel):
    user: str = Field("me", description="Host: id or email; `me` is the account owner.")
    meeting_id: int | None = Field(
        None,
        description="Another instance of this scheduled or held meeting (its host, topic, type).",
    )
    topic: str = "Held meeting"
    start_time: datetime | None = Field(None, description="Default: yesterday 10:00 UTC.")
    duration: int = Field(30, ge=1)
    uuid: str | None = Field(None, description="Force a UUID (e.g. one with '/' or '//').")
    attendees: list[NewAttendee] = Field(default_factory=list)


@router.post("/past_meetings", status_code=201)
async def hold_meeting(request: Request, new: NewHeldMeeting) -> dict[str, Any]:
    """Record an ended meeting instance and who attended when; then ``meeting.ended`` goes out
    when a webhook is subscribed. Answers the instance as ``GET /v2/past_meetings/{uuid}``."""
    state = state_of(request)
    number = new.meeting_id if new.meeting_id is not None else state.next_meeting_id()
    held_before = [h for h in state.held_meetings.values() if h.meeting_id == number]
    source: Meeting | past_meetings.HeldMeeting | None = state.meetings.get(number) or (
        held_before[-1] if held_before else None
    )
    if new.meeting_id is not None and source is None:
        raise zoom_error("meeting_not_found", meeting_id=new.meeting_id)
    start = new.start_time or datetime.now(UTC).replace(
        hour=10, minute=0, second=0, microsecond=0
    ) - timedelta(days=1)
    start = start if start.tzinfo else start.replace(tzinfo=UTC)
    held = past_meetings.hold(
        state,
        state.users[source.host_id] if source else _host(state, new.user),
        uuid=new.uuid or meeting_uuid(f"held/{number}/{start.isoformat()}"),
        meeting_id=number,
        topic=source.topic if source else new.topic,
        start_time=start,
        duration=new.duration,
        attendees=[Attendee(a.name, a.email, tuple(a.sessions)) for a in new.attendees],
        meeting_type=source.type if source else 2,
    )
    webhooks.meeting_ended(request, held)
    return past_meetings.details(state, held)


@router.post("/meetings", status_code=201)
async def seed_meeting(request: Request, user: str = "me") -> dict[str, Any]:
    """Add a meeting for a host (``?user=`` id or email; ``me`` is the owner), bypassing limits.

    The body is a create-meeting body, validated exactly as ``POST /v2/users/{userId}/meetings``.
    """
    state = state_of(request)
    body = await read_body(request, MeetingIn)
    meeting = build_meeting(state, _host(state, user), body)
    state.meetings[meeting.id] = meeting
    return meeting.as_zoom()


@router.post("/webinars/{webinar_id}/held", status_code=201)
async def hold_webinar(request: Request, webinar_id: int, held: HeldWebinar) -> dict[str, Any]:
    """Record that a webinar took place with ``attendees``: its past participants; its approved
    registrants who did not come are its absentees. Answers the held instance's ``uuid``."""
    state = state_of(request)
    webinar = state.webinars.get(webinar_id)
    if webinar is None:
        raise zoom_error("webinar_not_found", webinar_id=webinar_id)
    start = held.start_time or datetime.fromisoformat(
        (webinar.start_time or zoom_time(datetime.now(UTC))).replace("Z", "+00:00")
    )
    attendees = [a.model_dump() for a in held.attendees]
    past = hold(state, webinar, attendees, start)
    return {"uuid": past.uuid, "webinar_id": webinar.id, "participants": len(past.participants)}


@router.get("/files/{file_id}")
def describe_file(request: Request, file_id: str) -> dict[str, Any]:
    """A recording file's size, content type and SHA-256 (computed on demand, off the loop)."""
    state = state_of(request)
    if file_id not in state.files:
        raise zoom_error("no_recording")
    _, file = state.files[file_id]
    return {
        "id": file.id,
        "file_size": file.file_size,
        "content_type": file.content_type,
        "sha256": content.sha256(file.id, file.file_size),
    }


@router.patch("/config")
async def change_config(request: Request, change: ConfigChange) -> dict[str, Any]:
    """Change token lifetimes, the rate-limit plan, the S2S token mode or pre-approval."""
    state = state_of(request)
    updates = change.model_dump(exclude_none=True)
    state.config = state.config.model_copy(update=updates)
    if "require_preapproval" in updates:
        for account in state.accounts.values():
            account.requires_preapproval = updates["require_preapproval"]
    return state.config.model_dump(include=set(ConfigChange.model_fields))


@router.put("/faults")
async def set_faults(request: Request, faults: FaultSettings) -> FaultSettings:
    """Replace the fault settings (5xx, drops, slow answers, cut or HTML downloads)."""
    state = state_of(request)
    state.config = state.config.model_copy(update={"faults": faults})
    return state.config.faults


@router.post("/apps/{client_id}/preapproval")
async def set_preapproval(
    request: Request, client_id: str, approved: bool = True
) -> dict[str, Any]:
    """An admin pre-approves an app (or withdraws the approval)."""
    state = state_of(request)
    app = state.apps.get(client_id)
    if app is None:
        raise ZoomError(404, 4702, f"No app with client id {client_id}.")
    app.preapproved = approved
    return {"client_id": client_id, "preapproved": approved}


@router.post("/tokens/expire")
async def expire_tokens(request: Request, selector: ConnectionSelector) -> dict[str, int]:
    """Make matching access tokens expired now (their refresh tokens stay good)."""
    state = state_of(request)
    selected = _selects(state, selector)
    live = [t for t in state.access_tokens.values() if t.expires_at > now()]
    expired = [token for token in live if selected(token.client_id, token.user_id)]
    for token in expired:
        token.expires_at = now() - 1
    return {"expired": len(expired)}


@router.post("/connections/revoke")
async def revoke_connections(request: Request, selector: ConnectionSelector) -> dict[str, int]:
    """Revoke connections: their refresh and access tokens die (the user must authorize again)."""
    state = state_of(request)
    selected = _selects(state, selector)
    revoked = 0
    for refresh in state.refresh_tokens.values():
        if selected(refresh.client_id, refresh.user_id) and refresh.alive:
            refresh.alive = False
            revoked += 1
    for token in state.access_tokens.values():
        if selected(token.client_id, token.user_id):
            token.revoked = True
    return {"revoked_refresh_tokens": revoked}
