"""A real HTTP receiver on 127.0.0.1 that records every request it gets.

    with Receiver() as receiver:
        url = receiver.url("/hook")
        ...
        requests_ = receiver.wait_for(1, path="/hook")

Answers 200 ``{"ok": true}`` unless a path was given another status with
:meth:`Receiver.respond`.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.time)

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.responses: dict[str, tuple[int, bytes]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def respond(self, path: str, status: int, body: Any = None) -> None:
        """Answer requests to ``path`` with ``status`` (and a JSON ``body``)."""
        self.responses[path] = (status, json.dumps(body if body is not None else {}).encode())

    def handle(self, request: Recorded) -> tuple[int, bytes, str]:
        """Hook for subclasses: (status, body, content type) for a recorded request."""
        status, body = self.responses.get(request.path, (200, b'{"ok": true}'))
        return status, body, "application/json"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                recorded = Recorded(
                    method=self.command,
                    path=self.path,
                    headers={k: v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                with receiver._lock:
                    receiver.requests.append(recorded)
                status, body, content_type = receiver.handle(recorded)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender is gone (it timed out or was killed)

            do_POST = _record  # noqa: N815
            do_GET = _record  # noqa: N815
            do_PUT = _record  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def received(self, path: str | None = None) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    def wait_for(self, count: int, *, path: str | None = None, timeout: float = 30.0,
                 settle: float = 0.0) -> list[Recorded]:
        """Wait until at least ``count`` requests (to ``path``) arrived; then wait
        ``settle`` seconds more so that unwanted extra requests would show up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received(path)) >= count:
                break
            time.sleep(0.05)
        else:
            raise AssertionError(
                f"expected {count} request(s) to {path or 'any path'} within {timeout}s, "
                f"got {len(self.received(path))}"
            )
        if settle:
            time.sleep(settle)
        return self.received(path)

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class StallingReceiver(Receiver):
    """A receiver that gives requests to a path in ``stalled`` no answer until
    ``release`` is set (at most a minute), like a receiver that hangs."""

    def __init__(self) -> None:
        super().__init__()
        self.stalled: set[str] = set()
        self.release = threading.Event()

    def handle(self, request: Recorded) -> tuple[int, bytes, str]:
        if request.path in self.stalled:
            self.release.wait(60)
        return super().handle(request)

    def stop(self) -> None:
        self.release.set()
        super().stop()
