"""A real loopback HTTP server that records every request it gets (method, path, headers).

It stands for a host that is not Zoom: the token-leak tests point download URLs or redirects
at it and then check what it received.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorded:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass
class HeaderRecorder:
    """What the server received; ``redirect_to`` makes it answer 302 to that URL."""

    base_url: str = ""
    redirect_to: str | None = None
    body: bytes = b"not a recording"
    requests: list[Recorded] = field(default_factory=list)

    def carrying(self, secret: str) -> list[Recorded]:
        """The requests with ``secret`` in any header value or in the path."""
        return [
            r
            for r in self.requests
            if secret in r.path or any(secret in v for v in r.headers.values())
        ]


@contextmanager
def header_recorder(redirect_to: str | None = None) -> Iterator[HeaderRecorder]:
    """Serve on a free loopback port in a thread; stop it when the block ends."""
    recorder = HeaderRecorder(redirect_to=redirect_to)

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            recorder.requests.append(
                Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
            )
            if recorder.redirect_to is not None:
                self.send_response(302)
                self.send_header("Location", recorder.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(len(recorder.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(recorder.body)

        do_GET = do_HEAD = do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recorder.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
