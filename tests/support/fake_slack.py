"""A fake Slack on loopback, reached by the real ``slack-sdk``.

- Web API: point ``SLACK_API_URL`` at :attr:`FakeSlack.api_url`; it serves
  ``chat.postMessage`` (checks the bot token, answers ``{"ok": true, ...}``).
- Incoming webhooks: :meth:`FakeSlack.webhook_url` gives a URL that answers
  ``ok`` like Slack's.

Posted messages are in :attr:`FakeSlack.messages` (dicts with ``text``,
``blocks``, ``channel`` and the ``via``: ``"api"`` or ``"webhook"``).
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs

from tests.support.receiver import Receiver, Recorded

VALID_TOKEN = "xoxb-beacon-test-token"


class FakeSlack(Receiver):
    def __init__(self, token: str = VALID_TOKEN) -> None:
        super().__init__()
        self.token = token

    @property
    def api_url(self) -> str:
        return self.url("/api/")

    def webhook_url(self, name: str = "T000/B000/XXXX") -> str:
        return self.url(f"/services/{name}")

    @staticmethod
    def _fields(request: Recorded) -> dict[str, Any]:
        content_type = request.headers.get("Content-Type", "")
        if "json" in content_type:
            return dict(request.json())
        form = {k: v[0] for k, v in parse_qs(request.text).items()}
        if isinstance(form.get("blocks"), str):
            form["blocks"] = json.loads(form["blocks"])
        return form

    def handle(self, request: Recorded) -> tuple[int, bytes, str]:
        if request.path.startswith("/services/"):
            return 200, b"ok", "text/plain"
        if request.path == "/api/chat.postMessage":
            auth = request.headers.get("Authorization", "")
            if auth != f"Bearer {self.token}":
                body = {"ok": False, "error": "invalid_auth"}
            else:
                fields = self._fields(request)
                body = {"ok": True, "channel": fields.get("channel"), "ts": f"{time.time():.6f}",
                        "message": {"text": fields.get("text")}}
            return 200, json.dumps(body).encode(), "application/json"
        return 404, json.dumps({"ok": False, "error": "unknown_method"}).encode(), \
            "application/json"

    @property
    def messages(self) -> list[dict[str, Any]]:
        found = []
        for request in self.received():
            if request.path.startswith("/services/"):
                found.append({**self._fields(request), "via": "webhook"})
            elif request.path == "/api/chat.postMessage":
                found.append({**self._fields(request), "via": "api"})
        return found

    def wait_for_messages(self, count: int, *, timeout: float = 30.0,
                          settle: float = 0.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"expected {count} Slack message(s), got {len(self.messages)}"
                )
            time.sleep(0.05)
        if settle:
            time.sleep(settle)
        return self.messages
