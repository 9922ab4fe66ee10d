"""The token stays with Zoom: where the client attaches it, redirects, and the blocks' base URLs.

Real parts: the emulator and a second loopback server that records the headers it receives.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import Any
from uuid import UUID

import httpx
import pytest
from helpers.connections import s2s_credentials
from helpers.headers import header_recorder
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import BlockDocumentUpdate
from pydantic import ValidationError

from prefect_zoom import ZoomForeignHostError, ZoomInputError, ZoomServerToServerCredentials
from prefect_zoom.auth.manager import StaticToken
from prefect_zoom.blocks import _base as blocks_base
from prefect_zoom.client import AsyncZoomClient, ZoomClient
from prefect_zoom.client.origins import token_may_go_to
from prefect_zoom.tasks import download_recording_file, get_user
from zoom_emulator import ZoomEmulator

TOKEN = "connection-token-3e7b0c"
API = httpx.URL("https://api.zoom.us/v2")
EMULATOR_API = httpx.URL("http://127.0.0.1:8123/v2")


@flow
def in_a_flow(task: Any, *args: Any) -> Any:
    """Run a task inside a flow run, as the pack's users do."""
    return task(*args)


# ---- the rule ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "api"),
    [
        ("https://zoom.us/rec/download/x", API),
        ("https://us06web.zoom.us/rec/download/x?type=1", API),
        ("https://ZOOM.US./rec/download/x", API),
        ("https://api.zoomgov.com/rec/download/x", API),
        ("https://ssrweb.zoom.com.cn/x", API),
        ("https://zoom.us:8443/x", API),
        ("http://127.0.0.1:8123/rec/download/x", EMULATOR_API),  # the API's own origin
        ("http://127.0.0.1:8123/rec/files/x?sig=1", EMULATOR_API),
        ("https://api.zoom.us/v2/users/me", API),
    ],
)
def test_the_token_may_go_to_zoom_and_to_the_api_origin(url: str, api: httpx.URL) -> None:
    assert token_may_go_to(httpx.URL(url), api)


@pytest.mark.parametrize(
    ("url", "api"),
    [
        ("http://zoom.us/rec/download/x", API),  # Zoom, but in clear
        ("http://api.zoom.us/v2/users/me", API),
        ("https://zoom.us.evil.example/x", API),
        ("https://evilzoom.us/x", API),
        ("https://zoom.us@evil.example/x", API),  # user info, host is evil.example
        ("https://evil.example/zoom.us", API),
        ("https://127.0.0.1/x", API),
        ("http://127.0.0.1:8124/x", EMULATOR_API),  # loopback, another port
        ("http://localhost:8123/x", EMULATOR_API),  # same machine, another origin
        ("https://127.0.0.1:8123/x", EMULATOR_API),  # another scheme
        ("ftp://zoom.us/x", API),
        ("file:///etc/passwd", API),
    ],
)
def test_the_token_goes_nowhere_else(url: str, api: httpx.URL) -> None:
    assert not token_may_go_to(httpx.URL(url), api)


# ---- the client --------------------------------------------------------------------------------
def sync_download(api_url: str, url: str) -> bytes:
    """GET ``url`` with a client of the API at ``api_url`` holding ``TOKEN``."""
    with (
        ZoomClient(api_url, StaticToken(TOKEN)) as zoom,
        zoom.stream("GET", url, operation="download_recording_file") as response,
    ):
        return response.read()


def async_download(api_url: str, url: str) -> bytes:
    """The same with the async client."""

    async def run() -> bytes:
        async with (
            AsyncZoomClient(api_url, StaticToken(TOKEN)) as zoom,
            zoom.stream("GET", url, operation="download_recording_file") as response,
        ):
            return await response.aread()

    return asyncio.run(run())


@pytest.mark.parametrize("download", [sync_download, async_download])
@pytest.mark.parametrize("scheme", ["http", "HTTP"])
def test_the_clients_refuse_a_foreign_url_before_any_request(
    download: Callable[[str, str], bytes], scheme: str
) -> None:
    with header_recorder() as foreign, header_recorder() as api:
        url = foreign.base_url.replace("http", scheme, 1) + "/rec/download/f1"
        with pytest.raises(ZoomForeignHostError) as caught:
            download(api.base_url + "/v2", url)
    assert foreign.requests == [] and api.requests == []
    host = foreign.base_url.removeprefix("http://")
    assert caught.value.host == host
    assert host in str(caught.value) and caught.value.field == "download_url"
    assert TOKEN not in str(caught.value)


def test_request_refuses_a_foreign_url_too() -> None:
    with (
        header_recorder() as foreign,
        header_recorder() as api,
        ZoomClient(api.base_url + "/v2", StaticToken(TOKEN)) as zoom,
    ):
        with pytest.raises(ZoomForeignHostError):
            zoom.request("GET", foreign.base_url + "/v2/users/me")
        with pytest.raises(ZoomForeignHostError):
            zoom.get_json("https://api.zoom.us.evil.example/v2/users/me")
    assert foreign.requests == [] and api.requests == []


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "FTP://zoom.us/x", "mailto:me@zoom.us", "z+ip.1-x:/users/me"]
)
def test_a_path_with_any_scheme_is_a_url_and_refused(url: str) -> None:
    """The client tells URLs from API paths without parsing API paths: a scheme of any case and
    any RFC 3986 letters makes a URL, which is checked (and here refused), never joined."""
    with (
        header_recorder() as api,
        ZoomClient(api.base_url + "/v2", StaticToken(TOKEN)) as zoom,
        pytest.raises(ZoomForeignHostError),
    ):
        zoom.request("GET", url)
    assert api.requests == []


def test_an_api_path_with_a_colon_after_a_slash_joins_the_api_base() -> None:
    with header_recorder() as api, ZoomClient(api.base_url + "/v2", StaticToken(TOKEN)) as zoom:
        zoom.request("GET", "/users/me:batch")
    assert [r.path for r in api.requests] == ["/v2/users/me:batch"]


@pytest.mark.parametrize("download", [sync_download, async_download])
def test_a_redirect_to_another_origin_carries_no_token(
    download: Callable[[str, str], bytes],
) -> None:
    """httpx's rule, kept: the download URL gets the token, the redirect target does not."""
    with header_recorder() as cdn, header_recorder() as api:
        api.redirect_to = cdn.base_url + "/rec/files/f1?sig=abc"
        body = download(api.base_url + "/v2", api.base_url + "/rec/download/f1")
    assert body == cdn.body
    assert [r.headers.get("authorization") for r in api.requests] == [f"Bearer {TOKEN}"]
    assert [r.path for r in cdn.requests] == ["/rec/files/f1?sig=abc"]
    assert cdn.carrying(TOKEN) == []
    assert "authorization" not in cdn.requests[0].headers


def test_download_recording_file_refuses_a_foreign_download_url(
    zoom_emulator: ZoomEmulator, tmp_path: Any
) -> None:
    credentials = s2s_credentials(zoom_emulator)
    before = dict(zoom_emulator.state.counters)
    with header_recorder() as foreign:
        file = {
            "id": "f1",
            "file_type": "MP4",
            "file_extension": "MP4",
            "file_size": len(foreign.body),
            "download_url": foreign.base_url + "/rec/download/f1",
        }
        with pytest.raises(ZoomForeignHostError) as caught:
            in_a_flow(download_recording_file, credentials, file, tmp_path)
    assert foreign.requests == []
    assert foreign.base_url.removeprefix("http://") in str(caught.value)
    # refused before the token was even fetched: the emulator saw nothing either
    assert dict(zoom_emulator.state.counters) == before
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


# ---- the blocks' base URLs ---------------------------------------------------------------------
def s2s(**urls: str) -> ZoomServerToServerCredentials:
    return ZoomServerToServerCredentials(
        account_id="acct", client_id="client", client_secret="secret", **urls
    )


@pytest.mark.parametrize("field", ["api_base_url", "oauth_base_url"])
@pytest.mark.parametrize(
    "url", ["http://zoom.us/oauth", "http://proxy.example/v2", "http://10.0.0.5:8080/v2"]
)
def test_a_plain_http_base_url_is_refused_off_loopback(field: str, url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        s2s(**{field: url})
    message = str(caught.value)
    assert f"{field}: uses plain http on {httpx.URL(url).host}" in message
    assert "Use https://" in message and "loopback" in message


@pytest.mark.parametrize("url", ["ftp://zoom.us/v2", "zoom.us/v2", "https://"])
def test_a_base_url_must_be_an_http_url_with_a_host(url: str) -> None:
    with pytest.raises(ValidationError, match=r"api_base_url: .* is not an http"):
        s2s(api_base_url=url)


def test_a_base_url_with_credentials_is_refused() -> None:
    with pytest.raises(ValidationError, match="oauth_base_url: holds a user name or password"):
        s2s(oauth_base_url="https://user:pw@zoom.us/oauth")


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/v2", "http://127.8.0.1/v2", "http://[::1]:9/v2", "http://localhost:9"],
)
def test_loopback_may_use_plain_http(url: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="prefect_zoom.blocks"):
        assert s2s(api_base_url=url, oauth_base_url=url).api_base_url == url
    assert caplog.records == []


def test_a_foreign_https_host_is_accepted_with_one_warning(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blocks_base, "_warned_hosts", set())
    host = f"zoom-proxy-{uuid.uuid4().hex[:6]}.example"
    with caplog.at_level(logging.WARNING, logger="prefect_zoom.blocks"):
        for _ in range(3):
            s2s(oauth_base_url=f"https://{host}/oauth")
        s2s(api_base_url="https://api.zoomgov.com/v2", oauth_base_url="https://zoomgov.com/oauth")
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"oauth_base_url points at {host}, which is not Zoom's")
    assert "secret" not in warnings[0].split("not Zoom's")[0]


def test_an_edited_block_pointing_oauth_elsewhere_over_http_does_not_load(
    zoom_emulator: ZoomEmulator,
) -> None:
    """The issue's attack: someone edits a saved block's oauth_base_url; the next load fails
    before the client secret or the refresh token can go anywhere."""
    name = f"zoom-edited-{uuid.uuid4().hex[:10]}"
    document_id: UUID = s2s_credentials(zoom_emulator).save(name, overwrite=True)  # type: ignore[assignment]

    async def edit() -> None:
        async with get_client() as client:
            document = await client.read_block_document(document_id, include_secrets=True)
            data = dict(document.data)
            data["oauth_base_url"] = "http://collector.example:8080/oauth"
            await client.update_block_document(document_id, BlockDocumentUpdate(data=data))

    asyncio.run(edit())
    before = dict(zoom_emulator.state.counters)
    with pytest.raises(RuntimeError) as caught:
        ZoomServerToServerCredentials.load(name)
    assert "oauth_base_url: uses plain http on collector.example" in str(caught.value.__cause__)
    # the pack's tasks and flows say it in one line, naming the block and the field
    with pytest.raises(ZoomInputError) as refused:
        in_a_flow(get_user, name)
    message = str(refused.value)
    assert message.startswith(f"credentials: the saved block {name!r} is not valid")
    assert "oauth_base_url: uses plain http on collector.example" in message
    assert "secret" not in message.split("(")[0]
    assert dict(zoom_emulator.state.counters) == before
