"""ZoomAuth, the bearer token and Zoom's 401 as an ``httpx.Auth``; the token endpoint's retries."""

from __future__ import annotations

import httpx
import pytest
from helpers.connections import Renewing, s2s_credentials

from prefect_zoom.auth import TokenEndpoint
from prefect_zoom.auth.httpx_auth import PACE_EXTENSION, ZoomAuth
from prefect_zoom.exceptions import ZoomServerError
from zoom_emulator import ZoomEmulator


def answers(*responses: httpx.Response) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = responses[min(len(seen), len(responses)) - 1]
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    return httpx.MockTransport(handler), seen


INVALID = httpx.Response(401, json={"code": 124, "message": "Invalid access token."})


def test_any_httpx_client_gets_the_bearer_and_a_renewal_on_code_124() -> None:
    transport, seen = answers(INVALID, httpx.Response(200, json={"id": "me"}))
    tokens = Renewing()
    with httpx.Client(auth=ZoomAuth(tokens), transport=transport) as http:
        response = http.get("https://api.zoom.test/v2/users/me")
    assert response.json() == {"id": "me"}
    assert [r.headers["authorization"] for r in seen] == ["Bearer tok-1", "Bearer tok-2"]
    assert tokens.rejected == ["tok-1"]


async def test_the_async_flow_renews_the_same_way() -> None:
    transport, seen = answers(INVALID, INVALID, httpx.Response(200))
    tokens = Renewing()
    async with httpx.AsyncClient(auth=ZoomAuth(tokens), transport=transport) as http:
        response = await http.get("https://api.zoom.test/v2/users/me")
    assert response.status_code == 200
    assert [r.headers["authorization"] for r in seen] == [f"Bearer tok-{n}" for n in (1, 2, 3)]


def test_a_401_with_another_code_is_not_a_token_problem() -> None:
    other = httpx.Response(401, json={"code": 4700, "message": "Invalid client."})
    transport, seen = answers(other, httpx.Response(200))
    tokens = Renewing()
    with httpx.Client(auth=ZoomAuth(tokens), transport=transport) as http:
        assert http.get("https://api.zoom.test/v2/users/me").status_code == 401
    assert len(seen) == 1 and tokens.rejected == []


def test_renewals_are_bounded() -> None:
    transport, seen = answers(INVALID)
    with httpx.Client(auth=ZoomAuth(Renewing(), max_token_retries=2), transport=transport) as h:
        assert h.get("https://api.zoom.test/v2/users/me").status_code == 401
    assert len(seen) == 3


def test_a_streamed_answer_is_left_unread() -> None:
    def chunks(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=iter([b"x" * 500, b"x" * 500]))

    transport = httpx.MockTransport(chunks)
    with (
        httpx.Client(auth=ZoomAuth(Renewing()), transport=transport) as http,
        http.stream("GET", "https://api.zoom.test/rec/file") as response,
    ):
        assert not response.is_stream_consumed  # a download is never buffered by the auth
        assert response.read() == b"x" * 1000


def test_the_token_endpoint_waits_out_a_rate_limit_like_the_api(
    zoom_emulator: ZoomEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token endpoint retries under the API's policy (client/policy.py): a per-second 429 is
    waited out, as for any API call, instead of failing the renewal."""
    credentials = s2s_credentials(zoom_emulator)
    real = httpx.HTTPTransport()
    calls: list[str] = []

    def limited_once(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) == 1:
            return httpx.Response(429, json={"code": 429}, headers={"Retry-After": "0"})
        return real.handle_request(request)

    endpoint = TokenEndpoint(
        credentials.oauth_base_url,
        credentials.client_id,
        credentials.read_client_secret,
        transport=httpx.MockTransport(limited_once),
    )
    issued = endpoint.account_credentials(credentials.account_id)
    assert issued.access_token.get_secret_value() in zoom_emulator.state.access_tokens
    assert len(calls) == 2


def test_an_authorization_code_is_never_sent_twice() -> None:
    transport, seen = answers(httpx.Response(503, json={"code": 503, "message": "busy"}))
    endpoint = TokenEndpoint("https://zoom.test/oauth", "cid", lambda: "s", transport=transport)
    with pytest.raises(ZoomServerError):
        endpoint.exchange_code("code-1", "http://127.0.0.1:1/callback", code_verifier="v")
    assert len(seen) == 1
    form = seen[0].content.decode()
    assert "grant_type=authorization_code" in form and "code_verifier=v" in form
    assert seen[0].headers["authorization"].startswith("Basic ")


def paced_by(events: list[str]) -> dict[str, object]:
    """Extensions whose pacing notes each time it is asked (and waits 1 ms)."""

    def pace() -> list[float]:
        events.append("paced")
        return [0.001]

    return {PACE_EXTENSION: pace}


def test_a_request_sent_again_after_a_401_is_paced_like_a_new_one() -> None:
    """Every request that met a renewal goes again once the new token is in: unpaced, they
    would all arrive in one instant, over Zoom's per-second limit."""
    events: list[str] = []
    transport, seen = answers(INVALID, INVALID, httpx.Response(200))

    def send(request: httpx.Request) -> httpx.Response:
        events.append("sent")
        return transport.handle_request(request)

    with httpx.Client(auth=ZoomAuth(Renewing()), transport=httpx.MockTransport(send)) as http:
        request = http.build_request("GET", "https://api.zoom.test/v2/users/me")
        request.extensions.update(paced_by(events))
        assert http.send(request).status_code == 200
    assert events == ["paced", "sent"] * 3
    assert len(seen) == 3


class Noting(Renewing):
    """A token provider that notes each time it is asked for a token."""

    def __init__(self, events: list[str]) -> None:
        super().__init__()
        self.events = events

    def get_token(self) -> str:
        self.events.append("token")
        return super().get_token()

    async def aget_token(self) -> str:
        return self.get_token()


def test_a_request_is_paced_after_its_token_is_there() -> None:
    """A request waits for its token (a cold process fetching its first one) before it takes
    its place in the pacing: paced before, every request that waited would go in one instant
    when the token came (21 of 100 cold tasks in one millisecond, over Zoom's limit)."""
    events: list[str] = []
    transport, seen = answers(httpx.Response(200))

    def send(request: httpx.Request) -> httpx.Response:
        events.append("sent")
        return transport.handle_request(request)

    with httpx.Client(auth=ZoomAuth(Noting(events)), transport=httpx.MockTransport(send)) as http:
        request = http.build_request("GET", "https://api.zoom.test/v2/users/me")
        request.extensions.update(paced_by(events))
        assert http.send(request).status_code == 200
    assert events == ["token", "paced", "sent"]
    assert len(seen) == 1


async def test_the_async_flow_paces_after_the_token_too() -> None:
    events: list[str] = []
    transport, seen = answers(httpx.Response(200))

    async def send(request: httpx.Request) -> httpx.Response:
        events.append("sent")
        return transport.handle_request(request)

    async with httpx.AsyncClient(
        auth=ZoomAuth(Noting(events)), transport=httpx.MockTransport(send)
    ) as http:
        request = http.build_request("GET", "https://api.zoom.test/v2/users/me")
        request.extensions.update(paced_by(events))
        assert (await http.send(request)).status_code == 200
    assert events == ["token", "paced", "sent"]
    assert len(seen) == 1


async def test_the_async_flow_paces_a_send_again_too() -> None:
    events: list[str] = []
    transport, seen = answers(INVALID, httpx.Response(200))

    async def send(request: httpx.Request) -> httpx.Response:
        events.append("sent")
        return transport.handle_request(request)

    async with httpx.AsyncClient(
        auth=ZoomAuth(Renewing()), transport=httpx.MockTransport(send)
    ) as http:
        request = http.build_request("GET", "https://api.zoom.test/v2/users/me")
        request.extensions.update(paced_by(events))
        assert (await http.send(request)).status_code == 200
    assert events == ["paced", "sent"] * 2
    assert [r.headers["authorization"] for r in seen] == ["Bearer tok-1", "Bearer tok-2"]
