"""The real sign-in: ``prefect-zoom connect oauth --no-browser`` driven through headless Chromium.

Chromium is Debian's (``make browser`` installs it); Playwright only drives it, no browser is
downloaded. A missing Chromium fails the test: it is part of the suite, not optional.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.cli import (
    DECLINED,
    CliProcess,
    flat,
    load_oauth,
    new_block_name,
    start_connect_oauth,
)
from playwright.sync_api import Browser, Page, sync_playwright

from prefect_zoom import ZoomOAuthCredentials
from zoom_emulator import ZoomEmulator

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CALLBACK = re.compile(r"^http://127\.0\.0\.1:\d+/callback\?")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Headless Debian Chromium under Playwright, shared by the tests of this module."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run `make browser`, which installs Debian's chromium "
            "package (the browser sign-in test needs it)."
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        yield page
    finally:
        context.close()


def sign_in(page: Page, url: str, emulator: ZoomEmulator) -> list[str]:
    """Open the authorize URL, sign in as the owner; the scopes the consent page lists."""
    page.goto(url)
    page.fill("#email", emulator.config.user_email)
    page.fill("#password", emulator.config.user_password)
    page.click("#signin")
    page.wait_for_selector("#allow")
    assert page.inner_text("#user") == emulator.config.user_email
    return page.locator("#scopes li").all_inner_texts()


def test_browser_signin_saves_a_working_connection(zoom_emulator: ZoomEmulator, page: Page) -> None:
    config = zoom_emulator.config
    block = new_block_name("browser")
    cli: CliProcess = start_connect_oauth(zoom_emulator, block)
    try:
        scopes = sign_in(page, cli.authorize_url(), zoom_emulator)
        assert scopes == zoom_emulator.state.apps[config.oauth_client_id].scopes
        page.click("#allow")
        page.wait_for_url(CALLBACK)
        assert page.inner_text("#result") == "Zoom is connected"
        assert "close this tab" in page.content()

        assert cli.finish() == 0, cli.output
    finally:
        cli.kill()
    assert config.user_email in cli.output
    saved = load_oauth(block)
    assert sorted(saved.scopes) == sorted(scopes)
    with saved.get_client() as client:
        me = client.get_json("/users/me", operation="get_user")
    assert me["email"] == config.user_email


def test_browser_decline_fails_the_command_clearly(zoom_emulator: ZoomEmulator, page: Page) -> None:
    block = new_block_name("browser-declined")
    cli = start_connect_oauth(zoom_emulator, block)
    try:
        sign_in(page, cli.authorize_url(), zoom_emulator)
        page.click("#decline")
        page.wait_for_url(CALLBACK)
        assert page.inner_text("#result") == "Zoom access was not granted"

        assert cli.finish() == 1, cli.output
    finally:
        cli.kill()
    assert DECLINED in flat(cli.output)
    with pytest.raises(ValueError):
        ZoomOAuthCredentials.load(block, _sync=True)  # type: ignore[call-arg]
