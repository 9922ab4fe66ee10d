"""What a connection can run: each activity (Zoom operation) and each ready-made flow.

One place answers "can this connection run X, and which scopes would it need?" for both the
``prefect-zoom check`` command and the ``check_connection`` flow. Activities come from the
catalog (:data:`prefect_zoom.catalog.OPERATIONS`); flows declare the operations they always need
and the optional features that need more.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Literal

from prefect_zoom import tasks as pack_tasks
from prefect_zoom.catalog import OPERATIONS
from prefect_zoom.tasks._common import declared_operation

CapabilityKind = Literal["activity", "flow"]


@dataclass(frozen=True)
class FlowOption:
    """An optional feature of a flow and the operations it adds."""

    feature: str
    operations: tuple[str, ...]


@dataclass(frozen=True)
class FlowRequirements:
    """The operations a flow always calls, and its optional features."""

    name: str
    summary: str
    required: tuple[str, ...]
    options: tuple[FlowOption, ...] = ()


FLOW_REQUIREMENTS: dict[str, FlowRequirements] = {
    flow.name: flow
    for flow in [
        FlowRequirements(
            "check_connection",
            "Who is connected, the granted scopes, and what the connection can run.",
            required=(),
            options=(FlowOption("show the connected user", ("get_user",)),),
        ),
        FlowRequirements(
            "archive_recordings",
            "Download cloud recordings to storage (and optionally move them to the trash).",
            required=("list_user_recordings", "download_recording_file"),
            options=(
                FlowOption("archive the whole account", ("list_account_recordings",)),
                FlowOption("trash archived files", ("delete_recording_file",)),
            ),
        ),
        FlowRequirements(
            "archive_meeting_recordings",
            "Archive one meeting's recordings, as Zoom lists them, when Zoom says they are ready.",
            required=("get_meeting_recordings", "download_recording_file"),
        ),
        FlowRequirements(
            "schedule_meetings",
            "Create one-time and recurring meetings from a list or a CSV file, safe to run again.",
            required=("create_meeting", "list_meetings"),
            options=(FlowOption("invitation links", ("create_invite_links",)),),
        ),
        FlowRequirements(
            "meetings_report",
            "Upcoming meetings of the account's users, as a table and a CSV file.",
            required=("list_meetings",),
            options=(FlowOption("every user's meetings (else only your own)", ("list_users",)),),
        ),
        FlowRequirements(
            "users_report",
            "The account's active users, as a table and a CSV file.",
            required=("list_users",),
        ),
        FlowRequirements(
            "attendance_report",
            "Who attended ended meetings, when and how long, as a table and CSV files.",
            required=("list_past_meeting_participants",),  # one instance (meeting.ended)
            options=(
                FlowOption("every instance of a meeting", ("list_past_meeting_instances",)),
                FlowOption("the report view", ("report_meeting_participants",)),
                FlowOption(
                    "every meeting of some days", ("list_meetings", "list_past_meeting_instances")
                ),
                FlowOption("every user's meetings of those days (else your own)", ("list_users",)),
            ),
        ),
        FlowRequirements(
            "sync_users",
            "Make the account's users match a list (create, update, deactivate); dry run first.",
            required=("list_users",),
            options=(
                FlowOption(
                    "apply the plan",
                    ("create_user", "update_user", "update_user_status"),
                ),
            ),
        ),
        FlowRequirements(
            "watch_zoom",
            "Poll Zoom for completed recordings, ended meetings and new registrants; emit the "
            "webhook receiver's Prefect events.",
            required=("list_user_recordings", "list_meetings", "list_meeting_registrants"),
        ),
    ]
}
"""Flow name → what it calls. Names of operations refer to :data:`OPERATIONS`."""


@dataclass(frozen=True)
class Gap:
    """An operation the connection cannot call, and the scopes that would allow it (any one)."""

    operation: str
    scopes_to_add: tuple[str, ...]


@dataclass(frozen=True)
class OptionStatus(FlowOption):
    """An optional feature of a flow, whether it is available, and what it lacks."""

    gaps: tuple[Gap, ...] = ()

    @property
    def available(self) -> bool:
        return not self.gaps


@dataclass(frozen=True)
class Capability:
    """One activity or flow: what it calls and what the connection lacks to run it."""

    name: str
    kind: CapabilityKind
    summary: str
    operations: tuple[str, ...]
    gaps: tuple[Gap, ...]
    options: tuple[OptionStatus, ...] = ()
    tasks: tuple[str, ...] = ()

    @property
    def can_run(self) -> bool:
        return not self.gaps

    @property
    def missing_operations(self) -> tuple[str, ...]:
        return tuple(gap.operation for gap in self.gaps)

    @property
    def scopes_to_add(self) -> tuple[str, ...]:
        """Scopes to add for the required operations (for each operation any one will do)."""
        return _unique(scope for gap in self.gaps for scope in gap.scopes_to_add)

    @property
    def unavailable_options(self) -> tuple[OptionStatus, ...]:
        return tuple(option for option in self.options if not option.available)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _gaps(operations: Iterable[str], granted: list[str]) -> tuple[Gap, ...]:
    gaps = []
    for name in operations:
        op = OPERATIONS[name]
        if not op.is_satisfied_by(granted):
            gaps.append(Gap(name, op.scopes_to_add()))
    return tuple(gaps)


@cache
def tasks_by_operation() -> dict[str, tuple[str, ...]]:
    """Operation name → names of the pack's tasks (:mod:`prefect_zoom.tasks`) that call it."""
    found: dict[str, list[str]] = {}
    for name in pack_tasks.__all__:
        operation = declared_operation(getattr(pack_tasks, name))
        if operation is not None:
            found.setdefault(operation.name, []).append(name)
    return {operation: tuple(sorted(names)) for operation, names in found.items()}


RAW_REQUEST = Capability(
    name="zoom_request",
    kind="activity",
    summary="METHOD /any/path (that endpoint's scopes: unknown in advance)",
    operations=(),
    gaps=(),
    tasks=("zoom_request",),
)
"""The raw request activity: no catalog operation, so nothing to check ahead."""


def activity_capabilities(granted_scopes: Iterable[str]) -> list[Capability]:
    """One entry per catalog operation, in catalog order, then the raw request."""
    granted = list(granted_scopes)
    by_op = tasks_by_operation()
    return [
        Capability(
            name=op.name,
            kind="activity",
            summary=f"{op.method} {op.path}",
            operations=(op.name,),
            gaps=_gaps([op.name], granted),
            tasks=by_op.get(op.name, ()),
        )
        for op in OPERATIONS.values()
    ] + [RAW_REQUEST]


def flow_capabilities(granted_scopes: Iterable[str]) -> list[Capability]:
    """One entry per ready-made flow, with the state of its optional features."""
    granted = list(granted_scopes)
    return [
        Capability(
            name=flow.name,
            kind="flow",
            summary=flow.summary,
            operations=flow.required,
            gaps=_gaps(flow.required, granted),
            options=tuple(
                OptionStatus(option.feature, option.operations, _gaps(option.operations, granted))
                for option in flow.options
            ),
        )
        for flow in FLOW_REQUIREMENTS.values()
    ]


def capabilities(granted_scopes: Iterable[str]) -> list[Capability]:
    """Every activity, then every flow, and whether the granted scopes let it run."""
    granted = list(granted_scopes)
    return activity_capabilities(granted) + flow_capabilities(granted)


def can_run(granted_scopes: Iterable[str], operation: str) -> bool:
    """True when the granted scopes allow the catalog operation."""
    return OPERATIONS[operation].is_satisfied_by(list(granted_scopes))


__all__ = [
    "FLOW_REQUIREMENTS",
    "RAW_REQUEST",
    "Capability",
    "FlowOption",
    "FlowRequirements",
    "Gap",
    "OptionStatus",
    "activity_capabilities",
    "can_run",
    "capabilities",
    "flow_capabilities",
    "tasks_by_operation",
]
