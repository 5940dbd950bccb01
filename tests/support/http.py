"""A canned ``requests`` answer for tests that mock the HTTP seam."""

from __future__ import annotations

import requests


def response(
    status: int, text: str = "ok", headers: dict[str, str] | None = None
) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r._content = text.encode()
    r.headers.update(headers or {})
    return r
