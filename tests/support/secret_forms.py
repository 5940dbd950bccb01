"""The encodings a secret can take in an echoed response, and a check that none of them —
nor a 6+ character beginning of one at the end of a text — is in what Beacon shows."""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Callable
from urllib.parse import quote, quote_plus

from automations.masking import MIN_PREFIX


def b64_core(prefix: bytes, secret: str, urlsafe: bool = False) -> str:
    """The base64 characters made only of the secret's bits, when the secret follows
    ``prefix`` in an encoded text (e.g. ``Bearer <secret>``)."""
    data = prefix + secret.encode()
    encoded = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(data).decode()
    start = -(-8 * len(prefix) // 6)
    end = 8 * len(data) // 6
    return encoded[start:end]


def json_slashes_upper(secret: str) -> str:
    """A mixed JSON form: ASCII-only, "/" escaped, upper-case hex (as PHP and others write)."""
    text = json.dumps(secret)[1:-1].replace("/", "\\/")
    out, i = [], 0
    while i < len(text):
        if text.startswith("\\u", i):
            out.append("\\u" + text[i + 2:i + 6].upper())
            i += 6
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


ENCODINGS: dict[str, Callable[[str], str]] = {
    "raw": lambda s: s,
    "json ascii": lambda s: json.dumps(s)[1:-1],
    "json unicode (as Beacon sends)": lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
    "json mixed": json_slashes_upper,
    "json in json": lambda s: json.dumps(json.dumps(s)[1:-1])[1:-1],
    "json in json unicode": lambda s: json.dumps(
        json.dumps(s, ensure_ascii=False)[1:-1], ensure_ascii=False)[1:-1],
    "quote": lambda s: quote(s, safe=""),
    "quote default safe": lambda s: quote(s),
    "quote_plus": quote_plus,
    "html": lambda s: html.escape(s),
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "base64 urlsafe": lambda s: base64.urlsafe_b64encode(s.encode()).decode(),
    "base64 unpadded": lambda s: base64.b64encode(s.encode()).decode().rstrip("="),
    "base64 of Bearer": lambda s: b64_core(b"Bearer ", s),
    "base64 of Basic user:": lambda s: b64_core(b"user:", s),
    "base64 urlsafe of Bearer": lambda s: b64_core(b"Bearer ", s, urlsafe=True),
    "hex": lambda s: s.encode().hex(),
}


def forms_of(secret: str) -> dict[str, str]:
    return {name: encode(secret) for name, encode in ENCODINGS.items()}


def leaked_prefix(text: str, form: str) -> int:
    """The length of the longest 6+ beginning of ``form`` that ``text`` ends with (0: none)."""
    for length in range(len(form), MIN_PREFIX - 1, -1):
        if text.endswith(form[:length]):
            return length
    return 0


def leaks(text: str, secret: str) -> list[str]:
    """Names of the encodings of ``secret`` found in ``text`` (whole, or begun at its end)."""
    found = []
    for name, form in forms_of(secret).items():
        if len(form) >= MIN_PREFIX and (form in text or leaked_prefix(text, form)):
            found.append(name)
    return found
