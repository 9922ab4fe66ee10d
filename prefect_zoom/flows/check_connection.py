"""The ``check_connection`` flow: who a saved connection is and what it can run."""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from pydantic import BaseModel, Field

from prefect_zoom.capabilities import Capability, capabilities
from prefect_zoom.catalog import OPERATIONS
from prefect_zoom.exceptions import ZoomAuthError
from prefect_zoom.flows._support import ConnectionInfo, read_connection
from prefect_zoom.tasks._common import run_logger

ARTIFACT_KEY = "zoom-connection-check"


class CapabilityReport(BaseModel):
    """Whether one activity or flow can run, and what it lacks."""

    name: str
    kind: str = Field(description="'activity' (one Zoom call) or 'flow'.")
    can_run: bool
    tasks: list[str] = Field(default_factory=list, description="Tasks that run this activity.")
    missing_operations: list[str] = Field(default_factory=list)
    missing_scopes: list[str] = Field(
        default_factory=list, description="Scopes to add; for each missing call any one will do."
    )
    unavailable_options: list[str] = Field(
        default_factory=list, description="Optional features of a flow that lack a scope."
    )

    @classmethod
    def of(cls, capability: Capability) -> CapabilityReport:
        return cls(
            name=capability.name,
            kind=capability.kind,
            can_run=capability.can_run,
            tasks=list(capability.tasks),
            missing_operations=list(capability.missing_operations),
            missing_scopes=list(capability.scopes_to_add),
            unavailable_options=[
                f"{option.feature} (add "
                + "; ".join(" or ".join(gap.scopes_to_add) for gap in option.gaps)
                + ")"
                for option in capability.unavailable_options
            ],
        )


class ConnectionReport(BaseModel):
    """The result of ``check_connection``: no tokens or secrets, only names and scopes."""

    block_name: str
    block_type: str
    api_base_url: str
    user_id: str | None = None
    email: str | None = None
    account_id: str | None = None
    granted_scopes: list[str]
    activities: list[CapabilityReport]
    flows: list[CapabilityReport]

    @property
    def missing_scopes(self) -> list[str]:
        """Every scope suggested for an activity that cannot run (each listed once)."""
        found = [s for item in self.activities + self.flows for s in item.missing_scopes]
        return list(dict.fromkeys(found))

    @property
    def blocked(self) -> list[CapabilityReport]:
        return [item for item in self.activities + self.flows if not item.can_run]


def build_report(info: ConnectionInfo) -> ConnectionReport:
    """Combine what the connection is with what its scopes allow."""
    user = info.user or {}
    items = [CapabilityReport.of(c) for c in capabilities(info.scopes)]
    return ConnectionReport(
        block_name=info.block_name,
        block_type=info.block_type,
        api_base_url=info.api_base_url,
        user_id=user.get("id"),
        email=user.get("email"),
        account_id=user.get("account_id"),
        granted_scopes=info.scopes,
        activities=[item for item in items if item.kind == "activity"],
        flows=[item for item in items if item.kind == "flow"],
    )


def _md(text: str) -> str:
    """Text for a markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _rows(items: list[CapabilityReport], first: str) -> list[str]:
    lines = [
        f"| {first} | can run | scopes to add (any one per call) | notes |",
        "|---|---|---|---|",
    ]
    for item in items:
        notes = []
        if item.tasks:
            notes.append("tasks: " + ", ".join(f"`{t}`" for t in item.tasks))
        if item.missing_operations and item.kind == "flow":
            notes.append("lacks: " + ", ".join(item.missing_operations))
        if item.unavailable_options:
            notes.append("optional, unavailable: " + "; ".join(item.unavailable_options))
        scopes = ", ".join(f"`{s}`" for s in item.missing_scopes)
        mark = "✅" if item.can_run else "❌"
        lines.append(f"| `{item.name}` | {mark} | {scopes} | {_md('; '.join(notes))} |")
    return lines


def report_markdown(report: ConnectionReport) -> str:
    """The markdown artifact: who, the scopes, and a table of activities and flows."""
    who = report.email or report.user_id or "unknown (the connection may not read users)"
    account = f" on account `{report.account_id}`" if report.account_id else ""
    scopes = ", ".join(f"`{s}`" for s in report.granted_scopes) or "none reported by Zoom"
    lines = [
        f"# Zoom connection `{_md(report.block_name)}`",
        "",
        f"- Type: {report.block_type}",
        f"- API: {report.api_base_url}",
        f"- Connected as: {_md(who)}{account}",
        f"- Granted scopes ({len(report.granted_scopes)}): {scopes}",
        "",
    ]
    if report.blocked:
        names = ", ".join(f"`{item.name}`" for item in report.blocked)
        lines += [
            f"**{len(report.blocked)} activities/flows lack a scope**: {names}. Add a listed scope "
            "to the app in the Zoom App Marketplace (Manage → your app → Scopes), then connect "
            "again.",
            "",
        ]
    else:
        lines += ["Every activity and flow can run.", ""]
    lines += ["## Flows", "", *_rows(report.flows, "flow"), ""]
    lines += ["## Activities", "", *_rows(report.activities, "activity"), ""]
    return "\n".join(lines)


@flow(name="Zoom: check connection", log_prints=False)
def check_connection(credentials_block: str) -> ConnectionReport:
    """Check a saved Zoom connection: who it is, its scopes, and which activities and flows it can
    run (with the scopes each one lacks). Publishes the markdown artifact `zoom-connection-check`.

    `credentials_block` is the name of a saved ZoomOAuthCredentials or
    ZoomServerToServerCredentials block.
    """
    logger = run_logger()
    try:
        info = read_connection(credentials_block)
    except ZoomAuthError as error:
        create_markdown_artifact(
            markdown=f"# Zoom connection `{_md(credentials_block)}`\n\n"
            f"❌ Zoom rejects the connection.\n\n```\n{error}\n```\n",
            key=ARTIFACT_KEY,
            description=f"Zoom connection check of {credentials_block}: broken",
        )
        raise
    report = build_report(info)
    create_markdown_artifact(
        markdown=report_markdown(report),
        key=ARTIFACT_KEY,
        description=f"Zoom connection check of {credentials_block}",
    )
    who = report.email or report.user_id or "an unknown user"
    logger.info(
        "Zoom connection %r is %s with %d scope(s)",
        credentials_block,
        who,
        len(report.granted_scopes),
    )
    blocked_activities = [a.name for a in report.activities if not a.can_run]
    blocked_flows = [f.name for f in report.flows if not f.can_run]
    if blocked_activities or blocked_flows:
        logger.warning(
            "%d of %d activities and %d of %d flows lack a scope (%s); scopes to add: %s",
            len(blocked_activities),
            len(OPERATIONS),
            len(blocked_flows),
            len(report.flows),
            ", ".join(blocked_activities + blocked_flows),
            ", ".join(report.missing_scopes),
        )
    else:
        logger.info("Every activity and flow can run")
    return report
