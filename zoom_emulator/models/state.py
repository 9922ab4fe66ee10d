"""The emulator's in-memory world: accounts, apps, users, tokens, meetings and recordings.

Everything runs on the server's single event loop, so no locks are needed here. Counters are kept
alongside so tests can read what happened.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from zoom_emulator.config import EmulatorConfig
from zoom_emulator.models.operations import all_scopes

if TYPE_CHECKING:
    from zoom_emulator.models.meetings import Meeting
    from zoom_emulator.models.past_meetings import HeldMeeting
    from zoom_emulator.models.webinars import PastWebinar, Webinar

AppKind = Literal["oauth", "s2s"]


def now() -> float:
    return time.time()


def utcnow() -> datetime:
    return datetime.now(UTC)


def zoom_time(moment: datetime) -> str:
    """Zoom's date-time form: ``yyyy-MM-ddTHH:mm:ssZ``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_token(prefix: str) -> str:
    return f"{prefix}{secrets.token_urlsafe(32)}"


@dataclass
class App:
    client_id: str
    client_secret: str
    kind: AppKind
    account_id: str
    scopes: list[str]
    redirect_uris: list[str] = field(default_factory=list)
    name: str = "Emulator App"
    enabled: bool = True
    preapproved: bool = False


@dataclass
class Account:
    id: str
    plan: str = "pro"
    requires_preapproval: bool = False


@dataclass
class User:
    id: str
    account_id: str
    email: str
    first_name: str
    last_name: str
    password: str | None = None
    type: int = 2
    role_name: str = "Member"
    status: str = "active"
    pmi: int = 0
    timezone: str = "UTC"
    created_at: str = ""
    display_name: str | None = None  # None: first and last name
    dept: str = ""
    job_title: str = ""
    created_by: str = ""  # the create action of a user made through POST /users

    def as_zoom(self) -> dict[str, Any]:
        """The user as ``GET /users/{userId}`` answers it."""
        return {
            "id": self.id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "display_name": self.display_name or f"{self.first_name} {self.last_name}".strip(),
            "email": self.email,
            "type": self.type,
            "role_name": self.role_name,
            "pmi": self.pmi,
            "use_pmi": False,
            "personal_meeting_url": f"https://emulator.zoom.us/j/{self.pmi}",
            "timezone": self.timezone,
            "verified": 1,
            "dept": self.dept,
            "job_title": self.job_title,
            "created_at": self.created_at,
            "last_login_time": self.created_at,
            "pic_url": "",
            "language": "en-US",
            "phone_number": "",
            "status": self.status,
            "role_id": {"Owner": "0", "Admin": "1"}.get(self.role_name, "2"),
            "account_id": self.account_id,
            "account_number": 10000001,
            "cluster": "us06",
            "user_created_at": self.created_at,
        }


@dataclass
class AccessToken:
    value: str
    client_id: str
    account_id: str
    user_id: str | None  # None for S2S (the account acts)
    scopes: list[str]
    expires_at: float
    revoked: bool = False


@dataclass
class RefreshToken:
    value: str
    client_id: str
    user_id: str
    scopes: list[str]
    alive: bool = True
    killed_by: str = ""  # "rotation", "revoke" or "reauthorized" once dead


@dataclass
class AuthCode:
    value: str
    client_id: str
    user_id: str
    redirect_uri: str
    expires_at: float
    code_challenge: str | None = None
    code_challenge_method: str = "plain"
    used: bool = False


@dataclass
class SignIn:
    """A user who signed in on the authorize page and has yet to Allow or Decline (single use)."""

    id: str
    client_id: str
    user_id: str
    redirect_uri: str
    state: str | None
    code_challenge: str | None
    code_challenge_method: str
    expires_at: float


@dataclass
class RecordingFile:
    id: str
    file_type: str
    file_extension: str
    file_size: int
    recording_type: str
    content_type: str
    status: str = "completed"
    deleted: bool = False  # in the trash
    trashed_at: str | None = None  # Zoom time it went to the trash


@dataclass
class RecordingMeeting:
    uuid: str
    meeting_id: int
    account_id: str
    host_id: str
    topic: str
    start_time: datetime
    duration: int
    files: list[RecordingFile]
    deleted: bool = False  # whole meeting in the trash
    trashed_at: str | None = None
    password: str = ""


@dataclass
class PageCursor:
    key: str
    offset: int
    expires_at: float


@dataclass
class EmulatorState:
    """The world one emulator serves. Build it with :func:`build_state`."""

    config: EmulatorConfig
    accounts: dict[str, Account] = field(default_factory=dict)
    apps: dict[str, App] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    signins: dict[str, SignIn] = field(default_factory=dict)  # consent pages awaiting an answer
    meetings: dict[int, Meeting] = field(default_factory=dict)
    webinars: dict[int, Webinar] = field(default_factory=dict)
    past_webinars: dict[str, PastWebinar] = field(default_factory=dict)  # held, by instance uuid
    recordings: dict[str, RecordingMeeting] = field(default_factory=dict)  # by uuid
    held_meetings: dict[str, HeldMeeting] = field(default_factory=dict)  # ended, by uuid
    files: dict[str, tuple[str, RecordingFile]] = field(default_factory=dict)  # id -> (uuid, f)
    page_cursors: dict[str, PageCursor] = field(default_factory=dict)
    # what happened: requests by "METHOD /route status", token grants by grant type, 429s ...
    counters: Counter[str] = field(default_factory=Counter)
    _next_meeting_id: int = 81_000_000_000
    # ids are deterministic per account, so a fresh emulator seeds the same world every time
    _ids: random.Random = field(default_factory=lambda: random.Random(0))

    # ---- users -----------------------------------------------------------------------------
    def owner(self) -> User:
        return next(u for u in self.users.values() if u.email == self.config.user_email)

    def find_user(self, user_id: str, *, acting_user: User | None, account_id: str) -> User | None:
        """Resolve ``me``, an id or an email within the caller's account."""
        if user_id == "me":
            return acting_user
        for user in self.users.values():
            if user.account_id != account_id:
                continue
            if user.id == user_id or user.email.lower() == user_id.lower():
                return user
        return None

    def add_user(
        self,
        email: str,
        first_name: str,
        last_name: str,
        *,
        account_id: str | None = None,
        password: str | None = None,
        role_name: str = "Member",
        user_type: int = 2,
    ) -> User:
        index = len(self.users)
        user = User(
            id=f"emuUser{index:05d}{hashlib.sha1(email.lower().encode()).hexdigest()[:6]}",
            account_id=account_id or self.config.account_id,
            email=email,
            first_name=first_name,
            last_name=last_name,
            password=password,
            role_name=role_name,
            type=user_type,
            pmi=5_550_000_000 + index,
            created_at=zoom_time(utcnow() - timedelta(days=365)),
        )
        self.users[user.id] = user
        return user

    # ---- meetings --------------------------------------------------------------------------
    def next_meeting_id(self) -> int:
        self._next_meeting_id += 1 + self._ids.randrange(997)
        return self._next_meeting_id

    # ---- tokens ----------------------------------------------------------------------------
    def issue_access_token(
        self, app: App, *, user_id: str | None, scopes: list[str]
    ) -> AccessToken:
        token = AccessToken(
            value=new_token("emu_at_"),
            client_id=app.client_id,
            account_id=app.account_id,
            user_id=user_id,
            scopes=list(scopes),
            expires_at=now() + self.config.access_token_ttl,
        )
        self.access_tokens[token.value] = token
        return token

    def kill_access_tokens(self, client_id: str, user_id: str | None, *, keep: str = "") -> int:
        """Invalidate a user's (or, for S2S, the account's) access tokens for one app."""
        killed = 0
        for token in self.access_tokens.values():
            mine = token.client_id == client_id and token.user_id == user_id
            if mine and token.value != keep and not token.revoked:
                token.revoked = True
                killed += 1
        return killed

    def issue_refresh_token(self, app: App, *, user_id: str, scopes: list[str]) -> RefreshToken:
        token = RefreshToken(
            value=new_token("emu_rt_"),
            client_id=app.client_id,
            user_id=user_id,
            scopes=list(scopes),
        )
        self.refresh_tokens[token.value] = token
        return token

    def kill_refresh_tokens(
        self, client_id: str, user_id: str, *, reason: str, keep: str = ""
    ) -> int:
        """Kill a user's live refresh tokens for one app, recording why (``killed_by``)."""
        killed = 0
        for token in self.refresh_tokens.values():
            mine = token.client_id == client_id and token.user_id == user_id
            if mine and token.value != keep and token.alive:
                token.alive = False
                token.killed_by = reason
                killed += 1
        return killed

    def forget_dead_tokens(self) -> None:
        """Drop tokens that can never be used again, so long runs don't grow memory."""
        cutoff = now() - 60
        dead = [k for k, t in self.access_tokens.items() if t.revoked or t.expires_at < cutoff]
        for key in dead:
            del self.access_tokens[key]
        for key in [k for k, r in self.refresh_tokens.items() if not r.alive]:
            del self.refresh_tokens[key]
        for key in [k for k, c in self.codes.items() if c.used or c.expires_at < cutoff]:
            del self.codes[key]
        for key in [k for k, s in self.signins.items() if s.expires_at < cutoff]:
            del self.signins[key]


def build_state(config: EmulatorConfig) -> EmulatorState:
    """A fresh world from a config: one account, its owner, two built-in apps, seeded data."""
    from zoom_emulator.models.seed import seed_world

    state = EmulatorState(config=config)
    state.accounts[config.account_id] = Account(
        id=config.account_id, requires_preapproval=config.require_preapproval
    )
    builtin: tuple[tuple[str, str, AppKind, str], ...] = (
        (config.oauth_client_id, config.oauth_client_secret, "oauth", "Emulator OAuth App"),
        (config.s2s_client_id, config.s2s_client_secret, "s2s", "Emulator Server-to-Server App"),
    )
    for client_id, secret, kind, name in builtin:
        scopes = list(all_scopes())
        state.apps[client_id] = App(client_id, secret, kind, config.account_id, scopes, name=name)
    oauth = state.apps[config.oauth_client_id]
    oauth.redirect_uris = ["http://127.0.0.1/callback", "http://localhost/callback"]
    seed_world(state)
    return state
