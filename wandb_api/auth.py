"""W&B clients authenticate with HTTP Basic ``api:<key>`` (a Beacon API key)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.http import HttpRequest

from teams.models import ApiKey


def key_user(request: HttpRequest) -> Any:
    """The active user of the request's API key, or None.

    Accepts Basic ``<anything>:<key>`` (the SDK sends ``api``) and ``Bearer <key>``."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    key = ""
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        key = decoded.partition(":")[2]
    elif scheme.lower() == "bearer":
        key = value.strip()
    if not key:
        return None
    found = ApiKey.authenticate(key)
    return found.user if found is not None else None
