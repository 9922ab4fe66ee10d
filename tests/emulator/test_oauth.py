"""The emulator's OAuth surface over real HTTP: authorize pages, token grants, rotation, revoke."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from zoom_emulator import EmulatorConfig, ZoomEmulator
from zoom_emulator.models.state import App, now

REDIRECT = "http://127.0.0.1:8765/callback"
INVALID_TOKEN = {"reason": "Invalid Token!", "error": "invalid_grant"}


# ---- helpers -------------------------------------------------------------------------------------
@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)  # hidden and text inputs
    buttons: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (name, value)


class PageParser(HTMLParser):
    """Just enough HTML parsing: forms with their inputs and buttons, ids, and list items."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.ids: set[str] = set()
        self.items: list[str] = []
        self._in_li = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        if "id" in attr:
            self.ids.add(attr["id"])
        if tag == "form":
            self.forms.append(Form(action=attr.get("action", "")))
        elif tag == "input" and self.forms and "name" in attr:
            self.forms[-1].fields[attr["name"]] = attr.get("value", "")
        elif tag == "button" and self.forms:
            key = attr.get("id", "")
            self.forms[-1].buttons[key] = (attr.get("name", ""), attr.get("value", ""))
        elif tag == "li":
            self._in_li = True
            self.items.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "li":
            self._in_li = False

    def handle_data(self, data: str) -> None:
        if self._in_li:
            self.items[-1] += data.strip()


def parse(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    return parser


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@pytest.fixture
def client(zoom_emulator: ZoomEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=zoom_emulator.base_url, follow_redirects=False, timeout=10) as c:
        yield c


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def oauth_auth(emulator: ZoomEmulator) -> dict[str, str]:
    return basic(emulator.config.oauth_client_id, emulator.config.oauth_client_secret)


def s2s_auth(emulator: ZoomEmulator) -> dict[str, str]:
    return basic(emulator.config.s2s_client_id, emulator.config.s2s_client_secret)


def sign_in(
    client: httpx.Client,
    emulator: ZoomEmulator,
    *,
    redirect_uri: str = REDIRECT,
    state: str | None = "xyz",
    challenge: str | None = None,
    method: str | None = None,
    password: str | None = None,
) -> httpx.Response:
    """GET /oauth/authorize, then submit the sign-in form; return the answer to the sign-in."""
    params = {
        "response_type": "code",
        "client_id": emulator.config.oauth_client_id,
        "redirect_uri": redirect_uri,
    }
    if state is not None:
        params["state"] = state
    if challenge is not None:
        params["code_challenge"] = challenge
    if method is not None:
        params["code_challenge_method"] = method
    page = client.get("/oauth/authorize", params=params)
    assert page.status_code == 200, page.text
    form = parse(page.text).forms[0]
    data = dict(form.fields)
    data["email"] = emulator.config.user_email
    data["password"] = emulator.config.user_password if password is None else password
    return client.post(form.action, data=data)


def consent(client: httpx.Client, consent_page: httpx.Response, button: str) -> httpx.Response:
    """Press Allow or Decline on a consent page."""
    form = parse(consent_page.text).forms[0]
    name, value = form.buttons[button]
    return client.post(form.action, data={**form.fields, name: value})


def authorize(client: httpx.Client, emulator: ZoomEmulator, **kwargs: Any) -> str:
    """The whole browser part; returns the code from the redirect."""
    page = sign_in(client, emulator, **kwargs)
    assert page.status_code == 200, page.text
    answer = consent(client, page, "allow")
    assert answer.status_code == 302
    return query_of(answer.headers["location"])["code"]


def exchange(
    client: httpx.Client,
    emulator: ZoomEmulator,
    code: str,
    *,
    redirect_uri: str = REDIRECT,
    verifier: str | None = None,
) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier is not None:
        data["code_verifier"] = verifier
    return client.post("/oauth/token", data=data, headers=oauth_auth(emulator))


def user_tokens(client: httpx.Client, emulator: ZoomEmulator) -> dict[str, Any]:
    """A fresh user connection (access and refresh token) through the real flow."""
    answer = exchange(client, emulator, authorize(client, emulator))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def refresh(client: httpx.Client, emulator: ZoomEmulator, token: str) -> httpx.Response:
    return client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": token},
        headers=oauth_auth(emulator),
    )


def s2s_token(
    client: httpx.Client, emulator: ZoomEmulator, account_id: str | None = None
) -> httpx.Response:
    params = {
        "grant_type": "account_credentials",
        "account_id": account_id or emulator.config.account_id,
    }
    return client.post("/oauth/token", params=params, headers=s2s_auth(emulator))


# ---- authorization code flow ---------------------------------------------------------------------
def test_full_flow_with_s256(client: httpx.Client, zoom_emulator: ZoomEmulator) -> None:
    verifier = secrets.token_urlsafe(48)
    odd_state = "a b/c=d&e+f%"
    page = client.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": zoom_emulator.config.oauth_client_id,
            "redirect_uri": REDIRECT,
            "state": odd_state,
            "code_challenge": s256(verifier),
            "code_challenge_method": "S256",
        },
    )
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    signin = parse(page.text)
    assert {"email", "password", "signin"} <= signin.ids
    form = signin.forms[0]
    assert form.action == "/oauth/signin"
    assert form.fields["state"] == odd_state
    assert form.fields["code_challenge_method"] == "S256"

    consent_page = client.post(
        "/oauth/signin",
        data={
            **form.fields,
            "email": zoom_emulator.config.user_email,
            "password": zoom_emulator.config.user_password,
        },
    )
    assert consent_page.status_code == 200
    app = zoom_emulator.state.apps[zoom_emulator.config.oauth_client_id]
    parsed = parse(consent_page.text)
    assert app.name in consent_page.text
    assert parsed.items == app.scopes  # one <li> per scope
    assert {"allow", "decline"} <= parsed.ids
    assert zoom_emulator.config.oauth_client_secret not in consent_page.text

    redirect = consent(client, consent_page, "allow")
    assert redirect.status_code == 302
    location = redirect.headers["location"]
    assert location.startswith(REDIRECT + "?")
    params = query_of(location)
    assert params["state"] == odd_state  # echoed verbatim
    stored = zoom_emulator.state.codes[params["code"]]
    assert (stored.code_challenge, stored.code_challenge_method) == (s256(verifier), "S256")

    answer = exchange(client, zoom_emulator, params["code"], verifier=verifier)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {
        "access_token",
        "token_type",
        "refresh_token",
        "expires_in",
        "scope",
        "api_url",
    }
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == zoom_emulator.config.access_token_ttl
    assert body["scope"] == " ".join(app.scopes)
    assert body["api_url"] == zoom_emulator.base_url
    token = zoom_emulator.state.access_tokens[body["access_token"]]
    assert token.user_id == zoom_emulator.state.owner().id
    assert not token.revoked
    assert zoom_emulator.state.refresh_tokens[body["refresh_token"]].alive
    assert zoom_emulator.state.counters["grant authorization_code"] == 1


@pytest.mark.parametrize("method", [None, "plain"])
def test_full_flow_with_plain_pkce(
    client: httpx.Client, zoom_emulator: ZoomEmulator, method: str | None
) -> None:
    verifier = secrets.token_urlsafe(48)
    code = authorize(client, zoom_emulator, challenge=verifier, method=method)
    assert zoom_emulator.state.codes[code].code_challenge_method == "plain"  # Zoom's default
    answer = exchange(client, zoom_emulator, code, verifier=verifier)
    assert answer.status_code == 200, answer.text
    assert answer.json()["access_token"] in zoom_emulator.state.access_tokens


def test_flow_without_pkce_and_without_state(
    client: httpx.Client, zoom_emulator: ZoomEmulator
) -> None:
    page = sign_in(client, zoom_emulator, state=None)
    redirect = consent(client, page, "allow")
    params = query_of(redirect.headers["location"])
    assert "state" not in params
    assert exchange(client, zoom_emulator, params["code"]).status_code == 200


@pytest.mark.parametrize("verifier", ["not-the-verifier", None])
@pytest.mark.parametrize("method", ["S256", "plain"])
def test_wrong_or_missing_verifier_is_invalid_grant(
    client: httpx.Client, zoom_emulator: ZoomEmulator, verifier: str | None, method: str
) -> None:
    real = secrets.token_urlsafe(48)
    challenge = s256(real) if method == "S256" else real
    code = authorize(client, zoom_emulator, challenge=challenge, method=method)
    answer = exchange(client, zoom_emulator, code, verifier=verifier)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"
    assert zoom_emulator.state.counters["grant failed"] == 1
    assert not zoom_emulator.state.access_tokens  # nothing issued


def test_code_works_once(client: httpx.Client, zoom_emulator: ZoomEmulator) -> None:
    code = authorize(client, zoom_emulator)
    assert exchange(client, zoom_emulator, code).status_code == 200
    again = exchange(client, zoom_emulator, code)
    assert again.status_code == 400
    assert again.json()["code"] == 4734


def test_unknown_code(client: httpx.Client, zoom_emulator: ZoomEmulator) -> None:
    answer = exchange(client, zoom_emulator, "no-such-code")
    assert answer.status_code == 400
    assert answer.json()["code"] == 4734


class TestExpiredCode:
    @pytest.fixture
    def emulator_config(self) -> EmulatorConfig:
        return EmulatorConfig(code_ttl=2)

    def test_expired_code(self, client: httpx.Client, zoom_emulator: ZoomEmulator) -> None:
        before = now()
        code = authorize(client, zoom_emulator)
        stored = zoom_emulator.state.codes[code]
        assert stored.expires_at <= now() + 2  # the configured lifetime
        assert stored.expires_at >= before + 2
        stored.expires_at = now() - 1
        answer = exchange(client, zoom_emulator, code)
        assert answer.status_code == 400
        assert answer.json()["code"] == 4733


# ---- redirect URIs -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1/callback",
        "http://127.0.0.1:54321/callback",
        "http://localhost:8080/callback",
    ],
)
def test_loopback_port_is_ignored(
    client: httpx.Client, zoom_emulator: ZoomEmulator, redirect_uri: str
) -> None:
    page = sign_in(client, zoom_emulator, redirect_uri=redirect_uri)
    redirect = consent(client, page, "allow")
    assert redirect.headers["location"].startswith(redirect_uri + "?")  # the port given is kept


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://evil.example/callback",
        "http://127.0.0.1:54321/other",
        "https://127.0.0.1/callback",
        "",
    ],
)
def test_redirect_mismatch_shows_4709_page(
    client: httpx.Client, zoom_emulator: ZoomEmulator, redirect_uri: str
) -> None:
    page = client.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": zoom_emulator.config.oauth_client_id,
            "redirect_uri": redirect_uri,
            "state": "s",
        },
    )
    assert page.status_code == 400
    assert "location" not in page.headers
    assert "4,709" in page.text
    assert "signin" not in parse(page.text).ids


def test_token_redirect_must_match_authorize(
    client: httpx.Client, zoom_emulator: ZoomEmulator
) -> None:
    code = authorize(client, zoom_emulator, redirect_uri="http://127.0.0.1:5000/callback")
    mismatch = exchange(client, zoom_emulator, code, redirect_uri="http://localhost/callback")
    assert mismatch.status_code == 400
    assert mismatch.json()["code"] == 4709

    code = authorize(client, zoom_emulator, redirect_uri="http://127.0.0.1:5000/callback")
    other_port = exchange(
        client, zoom_emulator, code, redirect_uri="http://127.0.0.1:6000/callback"
    )
    assert other_port.status_code == 200, other_port.text


def test_unknown_client_id_shows_error_page(client: httpx.Client) -> None:
    page = client.get(
        "/oauth/authorize",
        params={"response_type": "code", "client_id": "nobody", "redirect_uri": REDIRECT},
    )
    assert page.status_code == 400
    assert "Invalid client_id" in page.text
    assert "location" not in page.headers


def test_bad_response_type_and_challenge_method_go_back_to_the_app(
    client: httpx.Client, zoom_emulator: ZoomEmulator
) -> None:
    base = {"client_id": zoom_emulator.config.oauth_client_id, "redirect_uri": REDIRECT}
    token = client.get("/oauth/authorize", params={**base, "response_type": "token", "state": "s"})
    assert token.status_code == 302
    assert query_of(token.headers["location"]) == {
        "error": "unsupported_response_type",
        "error_description": "response_type must be code",
        "state": "s",
    }
    weird = client.get(
        "/oauth/authorize",
        params={
            **base,
            "response_type": "code",
            "code_challenge": "abc",
            "code_challenge_method": "S512",
        },
    )
    assert weird.status_code == 302
    assert query_of(weird.headers["location"])["error"] == "invalid_request"


# ---- sign-in, consent, pre-approval --------------------------------------------------------------
def test_wrong_password_shows_sign_in_again(
    client: httpx.Client, zoom_emulator: ZoomEmulator
) -> None:
    answer = sign_in(client, zoom_emulator, password="guess-123")
    assert answer.status_code == 401
    assert "location" not in answer.headers
    page = parse(answer.text)
    assert {"email", "password", "signin", "error"} <= page.ids
    assert "guess-123" not in answer.text  # never echo a password
    assert page.forms[0].fields["email"] == zoom_emulator.config.user_email
    assert not zoom_emulator.state.signins


def test_decline_redirects_with_access_denied(
    client: httpx.Client, zoom_emulator: ZoomEmulator
) -> None:
    page = sign_in(client, zoom_emulator, state="st8")
    answer = consent(client, page, "decline")
    assert answer.status_code == 302
    assert answer.headers["location"].startswith(REDIRECT + "?")
    params = query_of(answer.headers["location"])
    assert params["error"] == "access_denied"
    assert params["error_description"]
    assert params["state"] == "st8"
    assert "code" not in params
    assert not zoom_emulator.state.codes


def test_consent_page_is_single_use(client: httpx.Client, zoom_emulator: ZoomEmulator) -> None:
    page = sign_in(client, zoom_emulator)
    assert consent(client, page, "allow").status_code == 302
    replay = consent(client, page, "allow")
    assert replay.status_code == 400
    assert "location" not in replay.headers
    assert len(zoom_emulator.state.codes) == 1


def test_expired_consent_page_is_refused(client: httpx.Client, zoom_emulator: ZoomEmulator) -> None:
    page = sign_in(client, zoom_emulator)
    for pending in zoom_emulator.state.signins.values():
        pending.expires_at = now() - 1
    assert consent(client, page, "allow").status_code == 400
    assert not zoom_emulator.state.codes


class TestPreapproval:
    @pytest.fixture
    def emulator_config(self) -> EmulatorConfig:
        return EmulatorConfig(require_preapproval=True)

    def test_unapproved_app_gets_the_preapproval_page(
        self, client: httpx.Client, zoom_emulator: ZoomEmulator
    ) -> None:
        answer = sign_in(client, zoom_emulator)
        assert "location" not in answer.headers
        assert "pre-approval" in answer.text.lower()
        assert "Manage" in answer.text and "Permissions" in answer.text
        page = parse(answer.text)
        assert not page.forms  # no way forward
        assert not {"allow", "decline"} & page.ids
        assert not zoom_emulator.state.signins

    def test_preapproved_app_reaches_consent_then_loses_it(
        self, client: httpx.Client, zoom_emulator: ZoomEmulator
    ) -> None:
        app = zoom_emulator.state.apps[zoom_emulator.config.oauth_client_id]
        app.preapproved = True
        tokens = user_tokens(client, zoom_emulator)
        app.preapproved = False  # the admin withdraws the pre-approval
        answer = refresh(client, zoom_emulator, tokens["refresh_token"])
        assert answer.status_code == 400
        assert answer.json()["code"] == 4738
        assert zoom_emulator.state.refresh_tokens[tokens["refresh_token"]].alive


# ---- refresh -------------------------------------------------------------------------------------
def test_refresh_rotates_and_kills_old_tokens(
    client: httpx.Client, zoom_emulator: ZoomEmulator
) -> None:
    first = user_tokens(client, zoom_emulator)
    answer = refresh(client, zoom_emulator, first["refresh_token"])
    assert answer.status_code == 200, answer.text
    second = answer.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["expires_in"] == zoom_emulator.config.access_token_ttl
    tokens = zoom_emulator.state.access_tokens
    assert tokens[first["access_token"]].revoked  # one live access token per user and app
    assert not tokens[second["access_token"]].revoked
    # ... and the REST API agrees: the older access token now gets 401 code 124
    killed = client.get(
        "/v2/users/me", headers={"Authorization": f"Bearer {first['access_token']}"}
    )
    assert killed.status_code == 401
    assert killed.json()["code"] == 124
    alive = client.get(
        "/v2/users/me", headers={"Authorization": f"Bearer {second['access_token']}"}
    )
    assert alive.status_code in (200, 404)

    reuse = refresh(client, zoom_emulator, first["refresh_token"])
    assert reuse.status_code == 400
    assert reuse.json() == INVALID_TOKEN  # dead at once, exactly Zoom's body
    assert refresh(client, zoom_emulator, second["refresh_token"]).status_code == 200
    assert zoom_emulator.state.counters["grant refresh_token"] == 2
    assert zoom_emulator.state.counters["grant failed"] == 1


def test_unknown_refresh_token(client: httpx.Client, zoom_emulator: ZoomEmulator) -> None:
    answer = refresh(client, zoom_emulator, "emu_rt_nothing")
    assert answer.status_code == 400
    assert answer.json() == INVALID_TOKEN


def test_refresh_token_of_another_client(client: httpx.Client, zoom_emulator: ZoomEmulator) -> None:
    tokens = user_tokens(client, zoom_emulator)
    other = App(
        client_id="otherClient",
        client_secret="otherSecret",
        kind="oauth",
        account_id=zoom_emulator.config.account_id,
        scopes=["meeting:read"],
        redirect_uris=[REDIRECT],
    )
    zoom_emulator.state.apps[other.client_id] = other
    answer = client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers=basic(other.client_id, other.client_secret),
    )
    assert answer.status_code == 400
    assert answer.json() == INVALID_TOKEN
    assert zoom_emulator.state.refresh_tokens[tokens["refresh_token"]].alive


def test_new_authorization_revokes_the_older_connection(
    client: httpx.Client, zoom_emulator: ZoomEmulator
) -> None:
    first = user_tokens(client, zoom_emulator)
    user_tokens(client, zoom_emulator)
    assert zoom_emulator.state.access_tokens[first["access_token"]].revoked
    answer = refresh(client, zoom_emulator, first["refresh_token"])
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"
    assert answer.json()["code"] == 4741


def test_refresh_after_the_user_is_gone(client: httpx.Client, zoom_emulator: ZoomEmulator) -> None:
    tokens = user_tokens(client, zoom_emulator)
    owner = zoom_emulator.state.owner()
    del zoom_emulator.state.users[owner.id]
    answer = refresh(client, zoom_emulator, tokens["refresh_token"])
    assert answer.status_code == 400
    assert answer.json()["code"] == 4735


# ---- server-to-server ----------------------------------------------------------------------------
def test_s2s_tokens_coexist_by_default(client: httpx.Client, zoom_emulator: ZoomEmulator) -> None:
    first = s2s_token(client, zoom_emulator)
    second = s2s_token(client, zoom_emulator)
    assert first.status_code == second.status_code == 200
    body = second.json()
    assert "refresh_token" not in body
    assert body["token_type"] == "bearer"
    assert (
        body["scope"].split() == zoom_emulator.state.apps[zoom_emulator.config.s2s_client_id].scopes
    )
    tokens = zoom_emulator.state.access_tokens
    assert tokens[body["access_token"]].user_id is None
    assert not tokens[first.json()["access_token"]].revoked
    assert not tokens[body["access_token"]].revoked
    assert zoom_emulator.state.counters["grant account_credentials"] == 2


class TestS2SSingleToken:
    @pytest.fixture
    def emulator_config(self) -> EmulatorConfig:
        return EmulatorConfig(s2s_single_token=True)

    def test_new_s2s_token_kills_the_older_one(
        self, client: httpx.Client, zoom_emulator: ZoomEmulator
    ) -> None:
        first = s2s_token(client, zoom_emulator).json()["access_token"]
        second = s2s_token(client, zoom_emulator).json()["access_token"]
        tokens = zoom_emulator.state.access_tokens
        assert tokens[first].revoked
        assert not tokens[second].revoked


def test_s2s_with_the_wrong_account(client: httpx.Client, zoom_emulator: ZoomEmulator) -> None:
    answer = s2s_token(client, zoom_emulator, account_id="someoneElse")
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"
    assert "account_id" in answer.json()["reason"]


def test_s2s_grant_in_the_form_body(client: httpx.Client, zoom_emulator: ZoomEmulator) -> None:
    answer = client.post(
        "/oauth/token",
        data={"grant_type": "account_credentials", "account_id": zoom_emulator.config.account_id},
        headers=s2s_auth(zoom_emulator),
    )
    assert answer.status_code == 200, answer.text


def test_account_credentials_with_a_user_app(
    client: httpx.Client, zoom_emulator: ZoomEmulator
) -> None:
    answer = client.post(
        "/oauth/token",
        params={"grant_type": "account_credentials", "account_id": zoom_emulator.config.account_id},
        headers=oauth_auth(zoom_emulator),
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == 4705


# ---- client authentication and grant types -------------------------------------------------------
def test_bad_secret(client: httpx.Client, zoom_emulator: ZoomEmulator) -> None:
    answer = client.post(
        "/oauth/token",
        params={"grant_type": "account_credentials", "account_id": zoom_emulator.config.account_id},
        headers=basic(zoom_emulator.config.s2s_client_id, "wrong"),
    )
    assert answer.status_code == 401
    assert answer.json() == {
        "reason": "Invalid client secret.",
        "error": "invalid_client",
        "code": 4704,
    }
    assert zoom_emulator.state.counters["grant failed"] == 1
    assert not zoom_emulator.state.access_tokens


def test_unknown_client(client: httpx.Client) -> None:
    answer = client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": "x"},
        headers=basic("nobody", "nothing"),
    )
    assert answer.status_code == 401
    assert answer.json()["code"] == 4702


def test_missing_client_and_missing_grant(
    client: httpx.Client, zoom_emulator: ZoomEmulator
) -> None:
    no_client = client.post("/oauth/token", data={"grant_type": "refresh_token"})
    assert no_client.status_code == 400
    assert no_client.json()["code"] == 4706
    no_grant = client.post("/oauth/token", headers=oauth_auth(zoom_emulator))
    assert no_grant.status_code == 400
    assert no_grant.json()["code"] == 4706


def test_client_credentials_in_the_form(client: httpx.Client, zoom_emulator: ZoomEmulator) -> None:
    code = authorize(client, zoom_emulator)
    answer = client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": zoom_emulator.config.oauth_client_id,
            "client_secret": zoom_emulator.config.oauth_client_secret,
        },
    )
    assert answer.status_code == 200, answer.text


def test_unsupported_grant(client: httpx.Client, zoom_emulator: ZoomEmulator) -> None:
    answer = client.post(
        "/oauth/token",
        data={"grant_type": "password", "username": "u", "password": "p"},
        headers=oauth_auth(zoom_emulator),
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "unsupported_grant_type"
    assert answer.json()["code"] == 4705
    assert zoom_emulator.state.counters["grant failed"] == 1


def test_disabled_app(client: httpx.Client, zoom_emulator: ZoomEmulator) -> None:
    zoom_emulator.state.apps[zoom_emulator.config.s2s_client_id].enabled = False
    answer = s2s_token(client, zoom_emulator)
    assert answer.status_code == 400
    assert answer.json()["code"] == 4717


# ---- revoke --------------------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["access_token", "refresh_token"])
def test_revoke_kills_the_connection(
    client: httpx.Client, zoom_emulator: ZoomEmulator, which: str
) -> None:
    tokens = user_tokens(client, zoom_emulator)
    answer = client.post(
        "/oauth/revoke", data={"token": tokens[which]}, headers=oauth_auth(zoom_emulator)
    )
    assert answer.status_code == 200
    assert answer.json() == {"status": "success"}
    assert zoom_emulator.state.access_tokens[tokens["access_token"]].revoked
    again = refresh(client, zoom_emulator, tokens["refresh_token"])
    assert again.status_code == 400
    assert again.json() == INVALID_TOKEN


def test_revoke_unknown_or_missing_token(client: httpx.Client, zoom_emulator: ZoomEmulator) -> None:
    unknown = client.post(
        "/oauth/revoke", data={"token": "nope"}, headers=oauth_auth(zoom_emulator)
    )
    assert unknown.json() == {"status": "success"}
    missing = client.post("/oauth/revoke", headers=oauth_auth(zoom_emulator))
    assert missing.status_code == 400
    assert missing.json()["code"] == 4700


def test_revoke_needs_client_auth(client: httpx.Client, zoom_emulator: ZoomEmulator) -> None:
    tokens = user_tokens(client, zoom_emulator)
    answer = client.post(
        "/oauth/revoke",
        data={"token": tokens["access_token"]},
        headers=basic(zoom_emulator.config.oauth_client_id, "wrong"),
    )
    assert answer.status_code == 401
    assert not zoom_emulator.state.access_tokens[tokens["access_token"]].revoked
