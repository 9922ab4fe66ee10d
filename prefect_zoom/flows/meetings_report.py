"""The ``meetings_report`` flow: upcoming meetings per user, as a table artifact and a CSV file."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.futures import PrefectFuture

from prefect_zoom.capabilities import can_run
from prefect_zoom.exceptions import ZoomInputError
from prefect_zoom.flows._support import (
    describe_error,
    publish_table,
    read_connection,
    without_passcode,
    write_csv,
)
from prefect_zoom.models import Meeting
from prefect_zoom.tasks._common import run_logger
from prefect_zoom.tasks.meetings import list_meetings
from prefect_zoom.tasks.users import list_users

ARTIFACT_KEY = "zoom-upcoming-meetings"
MEETING_COLUMNS = (
    "user",
    "host_id",
    "meeting_id",
    "topic",
    "type",
    "start_time",
    "duration",
    "timezone",
    "join_url",
)


def _users_to_report(credentials_block: str, user_ids: list[str] | None) -> list[str]:
    """The given users; else every active user when the connection may list them; else ``me``."""
    if user_ids is not None:
        chosen = list(dict.fromkeys(u.strip() for u in user_ids if u and u.strip()))
        if not chosen:
            raise ZoomInputError(
                "user_ids", "is empty", "Give user ids or emails, or leave it out for all users."
            )
        return chosen
    info = read_connection(credentials_block)
    if info.scopes and not can_run(info.scopes, "list_users"):
        run_logger().warning(
            "The connection may not list the account's users (add user:read:admin or "
            "user:read:list_users:admin): reporting only its own meetings"
        )
        return ["me"]
    return [user.email for user in list_users(credentials_block, status="active")]


def _row(user: str, meeting: Meeting, include_passcodes: bool) -> dict[str, Any]:
    return {
        "user": user,
        "host_id": meeting.host_id,
        "meeting_id": meeting.id,
        "topic": meeting.topic,
        "type": meeting.type,
        "start_time": meeting.start_time,
        "duration": meeting.duration,
        "timezone": meeting.timezone,
        "join_url": meeting.join_url if include_passcodes else without_passcode(meeting.join_url),
    }


@flow(name="Zoom: upcoming meetings report")
def meetings_report(
    credentials_block: str,
    user_ids: list[str] | None = None,
    output_csv: str = "zoom-reports/upcoming-meetings.csv",
    include_passcodes: bool = False,
) -> str:
    """List upcoming Zoom meetings per user into a CSV file (written atomically) and the table
    artifact `zoom-upcoming-meetings`; return the CSV file's absolute path.

    `user_ids`: ids or emails; by default every active user (or only `me` when the connection
    cannot list users). A user whose meetings cannot be read is reported and skipped; the run
    fails only when no user could be read. Join URLs lose their `pwd=` passcode unless
    `include_passcodes`.
    """
    logger = run_logger()
    users = _users_to_report(credentials_block, user_ids)
    futures: list[tuple[str, PrefectFuture[list[Meeting]]]] = [
        (user, list_meetings.submit(credentials_block, user_id=user, type="upcoming"))
        for user in users
    ]
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for user, future in futures:
        future.wait()
        state = future.state
        if state.is_completed():
            rows.extend(_row(user, m, include_passcodes) for m in state.result())
        else:
            problem = describe_error(state.result(raise_on_failure=False))
            problems.append(f"{user}: {problem}")
            logger.warning("Could not list the upcoming meetings of %s: %s", user, problem)
    if problems and len(problems) == len(users):
        raise RuntimeError("no user's meetings could be listed: " + "; ".join(problems))
    rows.sort(key=lambda r: (str(r["start_time"] or ""), str(r["user"]), int(r["meeting_id"])))
    path = write_csv(output_csv, MEETING_COLUMNS, rows)
    description = (
        f"# Upcoming Zoom meetings\n\n{len(rows)} meeting(s) of {len(users) - len(problems)} "
        f"user(s); CSV file: `{path}`."
    )
    if problems:
        description += "\n\nNot listed:\n" + "\n".join(f"- {p}" for p in problems)
    publish_table(ARTIFACT_KEY, rows, MEETING_COLUMNS, description)
    logger.info(
        "Upcoming Zoom meetings report: %d meeting(s) of %d user(s) in %s",
        len(rows),
        len(users),
        path,
    )
    return path
