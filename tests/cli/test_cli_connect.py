"""``prefect-zoom connect oauth|s2s`` and ``prefect-zoom check`` against the emulator.

Blocks really go through the session's Prefect API. ``connect oauth --no-browser`` runs as a
subprocess; a small httpx "browser" follows the URL it prints through sign-in and consent.
"""

from __future__ import annotations

import subprocess
import time
import webbrowser
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx
import pytest
from helpers.cli import (
    DECLINED,
    CliProcess,
    connect_s2s,
    flat,
    invoke,
    load_oauth,
    load_s2s,
    new_block_name,
    row_of,
    start_connect_oauth,
)
from helpers.connections import connect_s2s_args

from prefect_zoom.auth.authorize import (
    MAX_SHOWN_CHARS,
    AuthorizationCodeFlow,
    AuthorizationError,
    AuthorizationRequest,
    CallbackResult,
    ConsentDeclinedError,
    SignInTimeoutError,
    StateMismatchError,
    code_from_callback,
)
from prefect_zoom.capabilities import activity_capabilities
from zoom_emulator import EmulatorConfig, ZoomEmulator

PREAPPROVAL = (
    "the Zoom account requires an admin to pre-approve this app: ask an account admin to "
    "pre-approve it in the Zoom App Marketplace (Manage → Permissions), then run the command again"
)


@pytest.fixture
def emulator_config(request: pytest.FixtureRequest) -> EmulatorConfig:
    """Default emulator, or the config a test passes with ``indirect=True``."""
    return getattr(request, "param", EmulatorConfig())


Connecting = Callable[[str], tuple[str, CliProcess]]


@pytest.fixture
def connecting(zoom_emulator: ZoomEmulator, cli_processes: list[CliProcess]) -> Connecting:
    """Starts ``connect oauth`` for a new block named after a prefix (stopped after the test)."""

    def start(prefix: str) -> tuple[str, CliProcess]:
        block = new_block_name(prefix)
        cli = start_connect_oauth(zoom_emulator, block)
        cli_processes.append(cli)
        return block, cli

    return start


@pytest.fixture
def cli_processes() -> Iterator[list[CliProcess]]:
    """CLI subprocesses of a test; any still running at the end are killed."""
    started: list[CliProcess] = []
    yield started
    for process in started:
        process.kill()


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((attr.get("action", ""), {}))
        elif tag == "input" and self.forms and attr.get("name"):
            self.forms[-1][1][attr["name"]] = attr.get("value", "")


def _form(page: httpx.Response) -> tuple[str, dict[str, str]]:
    parser = _Forms()
    parser.feed(page.text)
    assert parser.forms, page.text
    action, fields = parser.forms[0]
    return urljoin(str(page.url), action), fields


def browse(url: str, emulator: ZoomEmulator, decision: str = "allow") -> httpx.Response:
    """A minimal browser: open the URL, sign in, press Allow or Decline, follow the redirect."""
    config = emulator.config
    with httpx.Client(follow_redirects=True, timeout=15) as browser:
        page = browser.get(url)
        assert page.status_code == 200, page.text
        action, fields = _form(page)
        fields.update(email=config.user_email, password=config.user_password)
        consent = browser.post(action, data=fields)
        if consent.status_code != 200:
            return consent  # e.g. the pre-approval page
        action, fields = _form(consent)
        fields["decision"] = decision
        return browser.post(action, data=fields)


# ---- connect s2s + check ---------------------------------------------------------------------
def test_connect_s2s_saves_a_working_block_and_check_reports_it(
    zoom_emulator: ZoomEmulator,
) -> None:
    config = zoom_emulator.config
    block = new_block_name("s2s")

    code, output = connect_s2s(zoom_emulator, block)

    assert code == 0, output
    assert config.user_email in output
    assert f"All {len(activity_capabilities(()))} activities can run" in output  # zoom_request too
    assert config.s2s_client_secret not in output
    saved = load_s2s(block)
    assert saved.client_id == config.s2s_client_id
    assert saved.api_base_url == zoom_emulator.api_url
    assert saved.oauth_base_url == zoom_emulator.oauth_url
    assert saved.access_token is not None, "the proven token is cached for other processes"
    assert saved.access_token.get_secret_value() not in output
    assert zoom_emulator.state.counters["grant account_credentials"] == 1

    code, output = invoke(["check", "--block", block])

    assert code == 0, output
    assert config.user_email in output
    assert "Zoom Server-to-Server Credentials" in output
    assert "✓" in row_of(output, "create_meeting")
    assert "✗" not in output
    # the cached token was reused: check did not need a new grant
    assert zoom_emulator.state.counters["grant account_credentials"] == 1


def test_connect_s2s_reports_activities_that_lack_a_scope(zoom_emulator: ZoomEmulator) -> None:
    app_scopes = ["user:read:admin", "meeting:read"]
    zoom_emulator.state.apps[zoom_emulator.config.s2s_client_id].scopes = app_scopes
    block = new_block_name("s2s-scopes")

    code, output = connect_s2s(zoom_emulator, block)

    assert code == 0, output
    assert "meeting:read, user:read:admin" in output  # the granted scopes
    assert "✓" in row_of(output, "list_meetings")
    create = row_of(output, "create_meeting")
    assert "✗" in create
    assert "meeting:write:meeting" in create
    recordings = row_of(output, "list_user_recordings")
    assert "✗" in recordings
    assert "cloud_recording:read:list_user_recordings" in recordings
    assert "activities lack a scope" in flat(output)

    code, output = invoke(["check", "--block", block])
    assert code == 0, output
    assert "✗" in row_of(output, "delete_meeting")


def test_connect_s2s_with_a_wrong_secret_fails_and_saves_nothing(
    zoom_emulator: ZoomEmulator,
) -> None:
    block = new_block_name("s2s-bad")

    code, output = invoke(connect_s2s_args(zoom_emulator, block), secret="not-the-secret")

    assert code == 1, output
    assert "did not accept the Server-to-Server credentials" in flat(output)
    assert "not-the-secret" not in output
    code, output = invoke(["check", "--block", block])
    assert code == 1
    assert f"no Zoom connection block named '{block}'" in flat(output)


def test_connect_s2s_does_not_replace_a_block_without_overwrite(
    zoom_emulator: ZoomEmulator,
) -> None:
    block = new_block_name("s2s-twice")
    assert connect_s2s(zoom_emulator, block)[0] == 0

    code, output = connect_s2s(zoom_emulator, block)
    assert code == 1
    assert "already exists" in output and "--overwrite" in output

    code, output = connect_s2s(zoom_emulator, block, "--overwrite")
    assert code == 0, output


def test_connect_s2s_without_a_secret_says_how_to_give_it(zoom_emulator: ZoomEmulator) -> None:
    code, output = invoke(
        ["connect", "s2s", "--block", "x", "--account-id", "a", "--client-id", "c"], secret=""
    )
    assert code == 1
    assert "ZOOM_CLIENT_SECRET" in output
    assert zoom_emulator.state.counters["grant account_credentials"] == 0


# ---- connect oauth -------------------------------------------------------------------------
def test_connect_oauth_no_browser_saves_a_usable_block(
    zoom_emulator: ZoomEmulator, connecting: Connecting
) -> None:
    config = zoom_emulator.config
    block, cli = connecting("oauth")

    url = cli.authorize_url()
    assert url.startswith(f"{zoom_emulator.oauth_url}/authorize?")
    assert "code_challenge_method=S256" in url and "state=" in url
    landing = browse(url, zoom_emulator)

    assert landing.status_code == 200
    assert "You can close this tab" in landing.text
    assert cli.finish() == 0, cli.output
    output = cli.output
    assert config.user_email in output
    assert f"All {len(activity_capabilities(()))} activities can run" in output  # zoom_request too
    saved = load_oauth(block)
    assert saved.refresh_token is not None and saved.access_token is not None
    for secret in (
        config.oauth_client_secret,
        saved.refresh_token.get_secret_value(),
        saved.access_token.get_secret_value(),
    ):
        assert secret not in output
    assert saved.redirect_uri.startswith("http://127.0.0.1:")
    assert saved.scopes and set(saved.scopes) <= set(
        zoom_emulator.state.apps[config.oauth_client_id].scopes
    )
    with saved.get_client() as client:
        me = client.get_json("/users/me", operation="get_user")
    assert me["email"] == config.user_email

    code, output = invoke(["check", "--block", block])
    assert code == 0, output
    assert "Zoom OAuth Credentials" in output and config.user_email in output


def test_connect_oauth_saves_under_the_connection_lock(
    zoom_emulator: ZoomEmulator, connecting: Connecting
) -> None:
    """A reconnect never lands in the middle of a worker's renew-and-save of the same block."""
    from prefect_zoom.auth.locks import connection_lock

    block, cli = connecting("oauth-locked")
    url = cli.authorize_url()
    with connection_lock(block):  # a worker renewing this connection right now
        assert browse(url, zoom_emulator).status_code == 200
        deadline = time.monotonic() + 60
        while zoom_emulator.state.counters["grant authorization_code"] < 1:
            assert time.monotonic() < deadline, cli.output
            time.sleep(0.05)  # polling the emulator until the CLI exchanged the code
        with pytest.raises(subprocess.TimeoutExpired):
            cli.proc.wait(timeout=5)  # it has its tokens, and waits for the lock to save them
        with pytest.raises(ValueError):
            load_oauth(block)
    assert cli.finish() == 0, cli.output
    assert load_oauth(block).refresh_token is not None


def test_connect_oauth_declined_consent_fails_clearly(
    zoom_emulator: ZoomEmulator, connecting: Connecting
) -> None:
    block, cli = connecting("oauth-declined")

    landing = browse(cli.authorize_url(), zoom_emulator, decision="decline")

    assert "not granted" in landing.text
    assert cli.finish() == 1, cli.output
    assert DECLINED in flat(cli.output)
    assert zoom_emulator.state.counters["consent declined"] == 1
    code, _ = invoke(["check", "--block", block])
    assert code == 1, "nothing was saved"


@pytest.mark.parametrize(
    "emulator_config", [EmulatorConfig(require_preapproval=True)], indirect=True
)
def test_connect_oauth_needing_preapproval_ends_at_the_timeout_with_the_cause(
    emulator_config: EmulatorConfig, zoom_emulator: ZoomEmulator, cli_processes: list[CliProcess]
) -> None:
    assert zoom_emulator.config.require_preapproval
    block = new_block_name("oauth-preapproval")
    cli = start_connect_oauth(zoom_emulator, block, "--timeout", "5")
    cli_processes.append(cli)

    page = browse(cli.authorize_url(), zoom_emulator)
    waiting_since = time.monotonic()

    assert page.status_code == 403 and "pre-approval" in page.text
    assert cli.finish(timeout=30) == 1, cli.output
    assert time.monotonic() - waiting_since < 20
    output = flat(cli.output)
    assert "within 5 s" in output
    assert PREAPPROVAL in output
    assert zoom_emulator.state.counters["signin preapproval required"] == 1


def test_check_of_a_revoked_connection_names_the_command_that_reconnects_it(
    zoom_emulator: ZoomEmulator,
    connecting: Connecting,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = zoom_emulator.config
    block, cli = connecting("oauth-revoked")
    browse(cli.authorize_url(), zoom_emulator)
    assert cli.finish() == 0, cli.output
    saved = load_oauth(block)
    assert saved.refresh_token is not None
    revoked = httpx.post(
        f"{zoom_emulator.oauth_url}/revoke",
        data={"token": saved.refresh_token.get_secret_value()},
        auth=(config.oauth_client_id, config.oauth_client_secret),
    )
    assert revoked.status_code == 200

    code, output = invoke(["check", "--block", block])

    assert code == 1, output
    assert "no longer authorized" in flat(output)
    assert f"prefect-zoom connect oauth --block {block}" in flat(output)

    # that very command (no --client-id: the block's app settings are reused) mends it;
    # here the "browser" is opened by the CLI itself through webbrowser.open
    opened: list[str] = []

    def fake_open(url: str, *args: object, **kwargs: object) -> bool:
        opened.append(url)
        browse(url, zoom_emulator)
        return True

    monkeypatch.setattr(webbrowser, "open", fake_open)
    code, output = invoke(["connect", "oauth", "--block", block, "--timeout", "30"])
    assert code == 0, output
    assert len(opened) == 1
    mended = load_oauth(block)
    assert mended.client_secret is not None
    assert mended.client_secret.get_secret_value() == config.oauth_client_secret
    assert mended.refresh_token is not None
    assert mended.refresh_token.get_secret_value() != saved.refresh_token.get_secret_value()
    code, output = invoke(["check", "--block", block])
    assert code == 0, output
    assert config.user_email in output


def test_connect_oauth_for_a_new_block_needs_a_client_id() -> None:
    code, output = invoke(["connect", "oauth", "--block", new_block_name("none")])
    assert code == 1
    assert "--client-id is required" in flat(output)


# ---- the sign-in checks themselves ---------------------------------------------------------
REQUEST = AuthorizationRequest(
    url="http://zoom.invalid/oauth/authorize", state="s1", code_verifier="v", redirect_uri="r"
)


def test_callback_checks() -> None:
    """Only a callback with this sign-in's state and a code gives a code."""
    assert code_from_callback(CallbackResult(code="c", state="s1"), REQUEST) == "c"
    with pytest.raises(StateMismatchError):
        code_from_callback(CallbackResult(code="c", state="forged"), REQUEST)
    with pytest.raises(StateMismatchError):
        code_from_callback(CallbackResult(code="c", state=None), REQUEST)
    with pytest.raises(ConsentDeclinedError, match="choose Allow"):
        code_from_callback(CallbackResult(error="access_denied", state="s1"), REQUEST)
    # an error is only this sign-in's error when it carries this sign-in's state
    with pytest.raises(StateMismatchError):
        code_from_callback(CallbackResult(error="access_denied", state="forged"), REQUEST)
    with pytest.raises(StateMismatchError):
        code_from_callback(CallbackResult(error="server_error"), REQUEST)


HOSTILE = "\x1b[2J\x1b]8;;https://evil.example\x07Reinstall <script>alert(1)</script>\n" + "x" * 300


def test_flow_ignores_callbacks_of_another_state(zoom_emulator: ZoomEmulator) -> None:
    config = zoom_emulator.config
    flow = AuthorizationCodeFlow(
        config.oauth_client_id, config.oauth_client_secret, zoom_emulator.oauth_url, timeout=30
    )
    with flow:
        for params in (
            {"code": "c", "state": "forged"},
            {"error": "server_error", "error_description": HOSTILE, "state": "forged"},
            {"error": "access_denied"},  # no state at all
        ):
            page = httpx.get(flow.redirect_uri, params=params)
            assert page.status_code == 400 and "rejected" in page.text
            assert "Reinstall" not in page.text
        # the sign-in goes on: the real answer still comes through
        page = httpx.get(flow.redirect_uri, params={"code": "real", "state": flow.request.state})
        assert page.status_code == 200
        assert flow.wait_for_code() == "real"
    with pytest.raises(httpx.ConnectError):
        httpx.get(flow.redirect_uri, params={"code": "c"})  # the receiver is gone


def test_flow_with_only_forged_callbacks_times_out(zoom_emulator: ZoomEmulator) -> None:
    config = zoom_emulator.config
    flow = AuthorizationCodeFlow(
        config.oauth_client_id, config.oauth_client_secret, zoom_emulator.oauth_url, timeout=0.5
    )
    with flow:
        httpx.get(flow.redirect_uri, params={"error": "access_denied", "state": "forged"})
        with pytest.raises(SignInTimeoutError):
            flow.wait_for_code()


def test_zoom_error_text_is_shown_escaped(zoom_emulator: ZoomEmulator) -> None:
    config = zoom_emulator.config
    flow = AuthorizationCodeFlow(
        config.oauth_client_id, config.oauth_client_secret, zoom_emulator.oauth_url, timeout=30
    )
    with flow:
        params = {
            "error": "server_error",
            "error_description": HOSTILE,
            "state": flow.request.state,
        }
        page = httpx.get(flow.redirect_uri, params=params)
        assert page.status_code == 200
        assert "&lt;script&gt;" in page.text and "<script>" not in page.text
        assert "\x1b" not in page.text and "\x07" not in page.text
        with pytest.raises(AuthorizationError) as caught:
            flow.wait_for_code()
    message = str(caught.value)
    assert "Reinstall <script>" in message  # shown, as text
    assert not [c for c in message if not c.isprintable()]  # no escapes, no line breaks
    assert "x" * (MAX_SHOWN_CHARS + 1) not in message


def test_flow_times_out_with_the_likely_causes(zoom_emulator: ZoomEmulator) -> None:
    config = zoom_emulator.config
    flow = AuthorizationCodeFlow(
        config.oauth_client_id, config.oauth_client_secret, zoom_emulator.oauth_url, timeout=0.3
    )
    started = time.monotonic()
    with flow, pytest.raises(SignInTimeoutError) as caught:
        flow.wait_for_code()
    assert time.monotonic() - started < 5
    assert PREAPPROVAL in str(caught.value)
    assert "http://127.0.0.1/callback" in str(caught.value)


@pytest.mark.parametrize("command", ["s2s", "oauth"])
def test_connect_refuses_a_plain_http_base_url_off_loopback(command: str) -> None:
    """The secret would travel in clear: refused before anything is sent or saved."""
    block = new_block_name(f"{command}-http")
    args = ["connect", command, "--block", block, "--client-id", "cid"]
    if command == "s2s":
        args += ["--account-id", "acct"]
    code, output = invoke([*args, "--base-url", "http://collector.example:8080"], secret="s3cr3t")
    assert code == 1, output
    assert "--base-url: uses plain http on collector.example" in flat(output)
    assert "Use https://" in flat(output)
    assert "s3cr3t" not in output
    code, output = invoke(["check", "--block", block])
    assert code == 1
    assert f"no Zoom connection block named '{block}'" in flat(output)
