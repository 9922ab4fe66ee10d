"""The catalog drives requests: an operation builds its method and path from typed parameters.

Tasks name an operation and give its path parameters (``OPERATIONS[...].bind(...)``); the
operation fills Zoom's path template, encoding each segment as ``docs/zoom-behaviour.md``
("Endpoints") says, and :mod:`prefect_zoom.client.calls` sends it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from helpers.connections import s2s_credentials
from prefect import Task

from prefect_zoom import tasks as pack_tasks
from prefect_zoom.capabilities import tasks_by_operation
from prefect_zoom.catalog import OPERATIONS, PathParams, encode_meeting_id, encode_user_id
from prefect_zoom.client.calls import call, call_json, call_pages
from prefect_zoom.exceptions import ZoomInputError
from prefect_zoom.tasks import get_meeting_recordings, get_user, list_recordings, zoom_request
from prefect_zoom.tasks._common import declared_operation
from zoom_emulator import ZoomEmulator

TASKS_PACKAGE = Path(__file__).parents[1] / "prefect_zoom" / "tasks"

SAMPLES: PathParams = {
    "user_id": "jane+zoom@example.com",
    "meeting_id": "/aB//cd==",
    "account_id": "me",
    "recording_id": "file/1",
    "file_id": "f1",
    "registrant_id": "r/1",
    "webinar_id": 99289110036,
}
"""A value for every path parameter, each one that needs encoding."""


def params_for(template: str) -> dict[str, Any]:
    names = {
        "userId": "user_id",
        "meetingId": "meeting_id",
        "meetingUUID": "meeting_id",
        "accountId": "account_id",
        "recordingId": "recording_id",
        "fileId": "file_id",
        "registrantId": "registrant_id",
        "webinarId": "webinar_id",
    }
    return {names[p]: SAMPLES[names[p]] for p in re.findall(r"\{(\w+)\}", template)}  # type: ignore[literal-required]


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_every_operation_binds_its_method_and_template(name: str) -> None:
    operation = OPERATIONS[name]
    bound = operation.bind(**params_for(operation.path))
    assert bound.operation is operation
    assert bound.method == operation.method
    # the filled path has the template's shape, one encoded segment per placeholder
    shape = re.sub(r"\{\w+\}", "[^/]+", operation.path)
    assert re.fullmatch(shape, bound.path), bound.path
    assert "{" not in bound.path


def test_segments_are_encoded_as_zoom_requires() -> None:
    assert OPERATIONS["get_user"].bind(user_id=" jane+zoom@example.com ").path == (
        "/users/jane+zoom@example.com"
    )
    assert OPERATIONS["get_meeting"].bind(meeting_id=85012345678).path == "/meetings/85012345678"
    # a UUID that starts with / or holds // is encoded twice, another one once
    assert OPERATIONS["recover_meeting_recordings"].bind(meeting_id="/aBcd==").path == (
        "/meetings/%252FaBcd%253D%253D/recordings/status"
    )
    assert OPERATIONS["get_meeting_recordings"].bind(meeting_id="aB+c/d==").path == (
        "/meetings/aB%2Bc%2Fd%3D%3D/recordings"
    )
    assert OPERATIONS["delete_recording_file"].bind(meeting_id=1, recording_id="a/b?c").path == (
        "/meetings/1/recordings/a%2Fb%3Fc"
    )


def test_encoders() -> None:
    """Meeting numbers as they are; UUIDs encoded, twice when they start with / or hold //."""
    assert encode_meeting_id(85012345678) == "85012345678"
    assert encode_meeting_id(" 85012345678 ") == "85012345678"
    assert encode_meeting_id("aB+c/d==") == "aB%2Bc%2Fd%3D%3D"
    assert encode_meeting_id("/aBcd==") == "%252FaBcd%253D%253D"
    assert encode_meeting_id("aB//cd==") == "aB%252F%252Fcd%253D%253D"
    assert encode_user_id("me") == "me"
    assert encode_user_id("a b/c") == "a%20b%2Fc"


def test_missing_or_unexpected_parameters_are_programming_errors() -> None:
    with pytest.raises(ValueError, match=r"get_user takes the path parameters \['user_id'\]"):
        OPERATIONS["get_user"].bind()
    with pytest.raises(ValueError, match="meeting_id"):
        OPERATIONS["list_users"].bind(meeting_id=1)


@pytest.mark.parametrize("bad", [" ", True])
def test_a_meeting_id_zoom_cannot_take_names_the_field(bad: Any) -> None:
    with pytest.raises(ZoomInputError) as caught:
        OPERATIONS["get_meeting"].bind(meeting_id=bad)
    assert caught.value.field == "meeting_id"


@pytest.mark.parametrize("value", ["..", "."])
def test_a_value_that_would_leave_its_path_segment_is_refused(value: str) -> None:
    """``/users/..`` would reach ``/v2`` itself: no value may step out of its segment."""
    for user_id in (value, f" {value} "):
        with pytest.raises(ZoomInputError) as caught:
            OPERATIONS["list_user_recordings"].bind(user_id=user_id)
        assert caught.value.field == "user_id"
    with pytest.raises(ZoomInputError) as caught:
        OPERATIONS["delete_recording_file"].bind(meeting_id=1, recording_id=value)
    assert caught.value.field == "recording_id"


@pytest.mark.parametrize(
    ("task", "value", "field"),
    [
        (get_user, "..", "user_id"),
        (list_recordings, "..", "user_id"),
        (list_recordings, " ", "user_id"),
        (get_meeting_recordings, " ", "meeting_id"),
    ],
)
def test_tasks_refuse_bad_path_values_before_loading_a_connection(
    task: Any, value: str, field: str
) -> None:
    """The values are checked before the block is loaded: no block of that name is needed."""
    with pytest.raises(ZoomInputError) as caught:
        task.fn("no-such-block", value)
    assert caught.value.field == field


def test_calls_send_what_the_catalog_says(shared_emulator: ZoomEmulator) -> None:
    """Method, path and operation (scopes, pacing) all come from the catalog entry."""
    with s2s_credentials(shared_emulator).get_client() as zoom:
        me = call_json(zoom, OPERATIONS["get_user"].bind(user_id="me"))
        users = list(call_pages(zoom, OPERATIONS["list_users"].bind(), "users", page_size=1))
        response = call(
            zoom,
            OPERATIONS["create_meeting"].bind(user_id="me"),
            json={"topic": "catalog", "type": 1},
            expected=(201,),
        )
    assert me["id"] in {user["id"] for user in users}
    assert response.status_code == 201
    assert response.request.method == "POST"
    assert response.request.url.path == "/v2/users/me/meetings"


def _restated_requests(source: str) -> list[str]:
    """Calls in ``source`` that spell a method, a path or an operation name themselves."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        if node.func.attr in {"request", "get_json", "paginate", "stream"}:
            found.append(f"line {node.lineno}: .{node.func.attr}(...)")
        found += [
            f"line {node.lineno}: operation={ast.unparse(kw.value)}"
            for kw in node.keywords
            if kw.arg == "operation"
        ]
    return found


@pytest.mark.parametrize(
    "module", sorted(p.name for p in TASKS_PACKAGE.glob("*.py")), ids=lambda name: name
)
def test_tasks_do_not_restate_method_path_or_operation(module: str) -> None:
    """Every request of a task goes through ``OPERATIONS[...].bind(...)`` and ``client.calls``."""
    assert _restated_requests((TASKS_PACKAGE / module).read_text()) == []


def test_capabilities_list_the_operation_each_task_declares() -> None:
    assert declared_operation(get_user) is OPERATIONS["get_user"]
    assert declared_operation(len) is None
    by_operation = tasks_by_operation()
    assert by_operation["create_meeting"] == (
        "create_meeting",
        "schedule_meeting_once",
        "schedule_one_time_meeting",
        "schedule_recurring_meeting",
    )
    # every exported task but the raw request declares a catalog operation, and only the
    # exported ones are listed
    listed = {name for names in by_operation.values() for name in names}
    assert declared_operation(zoom_request) is None
    assert listed | {"zoom_request"} == {
        name for name in pack_tasks.__all__ if isinstance(getattr(pack_tasks, name), Task)
    }
