"""The ``users_report`` flow: the account's active users as a table artifact and a CSV file."""

from __future__ import annotations

from prefect import flow

from prefect_zoom.flows._support import publish_table, write_csv
from prefect_zoom.tasks._common import run_logger
from prefect_zoom.tasks.users import list_users

ARTIFACT_KEY = "zoom-users"
USER_COLUMNS = (
    "id",
    "email",
    "first_name",
    "last_name",
    "display_name",
    "type",
    "role_id",  # Zoom's list of users has the role's id, not its name
    "status",
    "timezone",
    "created_at",
)


@flow(name="Zoom: users report")
def users_report(credentials_block: str, output_csv: str = "zoom-reports/users.csv") -> str:
    """List the account's active Zoom users into a CSV file (written atomically) and the table
    artifact `zoom-users`; return the CSV file's absolute path.

    Needs `user:read:admin` (classic) or `user:read:list_users:admin` (granular).
    """
    users = list_users(credentials_block, status="active")
    rows = [user.model_dump(include=set(USER_COLUMNS)) for user in users]
    rows.sort(key=lambda row: str(row.get("email") or "").lower())
    path = write_csv(output_csv, USER_COLUMNS, rows)
    publish_table(
        ARTIFACT_KEY,
        rows,
        USER_COLUMNS,
        f"# Zoom users\n\n{len(rows)} active user(s); CSV file: `{path}`.",
    )
    run_logger().info("Zoom users report: %d active user(s) in %s", len(rows), path)
    return path
