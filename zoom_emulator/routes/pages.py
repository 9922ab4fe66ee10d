"""The HTML pages of the emulator's OAuth flow: sign-in, consent, pre-approval and errors.

Plain HTML with stable ids (``email``, ``password``, ``signin``, ``allow``, ``decline``) so that
tests and a headless browser can drive them. Every value is escaped; secrets are never shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape

_STYLE = """
body { font-family: system-ui, sans-serif; background: #f4f6fb; margin: 0; }
main { max-width: 28rem; margin: 4rem auto; background: #fff; padding: 2rem;
       border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.15); }
h1 { font-size: 1.4rem; color: #0b5cff; }
label { display: block; margin-top: 1rem; }
input[type=email], input[type=password] { width: 100%; padding: .5rem; box-sizing: border-box; }
button { margin-top: 1.2rem; margin-right: .5rem; padding: .5rem 1.2rem; }
.error { color: #b00020; }
.note { color: #555; font-size: .85rem; }
"""


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>\n"
        f"<body><main>\n{body}\n</main></body></html>\n"
    )


def _hidden(fields: Mapping[str, str | None]) -> str:
    return "\n".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in fields.items()
        if value is not None
    )


def signin_page(
    authorize_params: Mapping[str, str | None],
    *,
    app_name: str,
    email: str = "",
    error: str | None = None,
) -> str:
    """The sign-in form; it posts the authorize parameters back in hidden fields."""
    error_html = f'<p class="error" id="error">{escape(error)}</p>' if error else ""
    body = f"""<h1>Sign in to Zoom (emulator)</h1>
<p><strong>{escape(app_name)}</strong> wants to connect to your Zoom account.</p>
{error_html}
<form method="post" action="/oauth/signin">
{_hidden(authorize_params)}
<label for="email">Email address</label>
<input type="email" id="email" name="email" value="{escape(email)}" autocomplete="username" required>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit" id="signin">Sign In</button>
</form>
<p class="note">This is a local Zoom emulator, not zoom.us.</p>"""
    return _page("Sign In - Zoom", body)


def consent_page(*, app_name: str, user_email: str, scopes: Iterable[str], signin_id: str) -> str:
    """Allow or Decline: the app's name and one ``<li>`` per scope it will be granted."""
    items = "\n".join(f'<li class="scope">{escape(scope)}</li>' for scope in scopes)
    body = f"""<h1>Allow {escape(app_name)} to access your Zoom account?</h1>
<p>Signed in as <span id="user">{escape(user_email)}</span>.</p>
<p>{escape(app_name)} will be able to:</p>
<ul id="scopes">
{items}
</ul>
<form method="post" action="/oauth/consent">
{_hidden({"signin_id": signin_id})}
<button type="submit" id="allow" name="decision" value="allow">Allow</button>
<button type="submit" id="decline" name="decision" value="decline">Decline</button>
</form>"""
    return _page(f"Authorize {app_name} - Zoom", body)


def preapproval_page(*, app_name: str, user_email: str) -> str:
    """A dead end: the account's admin must pre-approve the app before anyone can install it."""
    body = f"""<h1>Request pre-approval</h1>
<p id="preapproval">{escape(app_name)} needs pre-approval from your account admin before
<span id="user">{escape(user_email)}</span> can add it.</p>
<p>Your account requires apps to be pre-approved. Ask your Zoom account admin to pre-approve
this app: in the Zoom App Marketplace, go to <strong>Manage &rarr; Permissions</strong>, find
<strong>{escape(app_name)}</strong> and turn its pre-approval on. Then start the connection
again.</p>"""
    return _page("Request pre-approval - Zoom", body)


def error_page(title: str, message: str, *, code: int | None = None) -> str:
    """An error shown in the browser instead of a redirect (bad client, bad redirect URI...)."""
    code_html = f'<p class="note">Error code: <span id="code">{code}</span></p>' if code else ""
    body = f"""<h1 class="error">{escape(title)}</h1>
<p id="message">{escape(message)}</p>
{code_html}"""
    return _page(f"{title} - Zoom", body)
