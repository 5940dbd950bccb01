"""One MLflow request as the handlers see it: who calls, for which team, with what.

MLflow sends GET parameters in the query string and everything else as a JSON
body. Fields are read with MLflow's types: int64 fields may come as numbers or
digit strings, doubles as numbers or ``"NaN"`` / ``"Infinity"`` / ``"-Infinity"``.
A field of the wrong type answers ``INVALID_PARAMETER_VALUE``."""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass, field
from typing import Any

from django.http import Http404, HttpRequest

from mlflow_api.errors import MlflowError, invalid
from teams.access import TeamAccess, get_team
from teams.models import ApiKey

NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
INT64 = 2**63


def bearer_key(request: HttpRequest) -> str | None:
    """The API key of ``Authorization: Bearer <key>`` or ``Basic`` (key as password)."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        _, sep, password = decoded.partition(":")
        return password if sep and password else None
    return None


def authenticate(request: HttpRequest, slug: str) -> TeamAccess:
    """The team as seen by the API key's user; outsiders learn nothing about it."""
    key = bearer_key(request)
    api_key = ApiKey.authenticate(key) if key else None
    if api_key is None:
        raise MlflowError(
            "UNAUTHENTICATED",
            "Set MLFLOW_TRACKING_TOKEN to a Beacon API key "
            "(sent as 'Authorization: Bearer <key>').",
        )
    request.user = api_key.user
    try:
        return get_team(api_key.user, slug)
    except Http404:
        raise MlflowError(
            "RESOURCE_DOES_NOT_EXIST", f"No team {slug!r} for this API key."
        ) from None


def parse_body(request: HttpRequest) -> dict[str, Any]:
    if request.method == "GET":
        out: dict[str, Any] = {}
        for key, values in request.GET.lists():
            out[key] = values if len(values) > 1 or key.endswith("_ids") else values[0]
        return out
    if not request.body:
        return {}
    try:
        data = json.loads(request.body)
    except (ValueError, RecursionError):
        raise invalid("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise invalid("The request body must be a JSON object.")
    return data


@dataclass
class Call:
    request: HttpRequest
    access: TeamAccess
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def team(self) -> Any:
        return self.access.team

    @property
    def user(self) -> Any:
        return self.request.user

    def need_write(self) -> None:
        if not self.access.can_write:
            raise MlflowError(
                "PERMISSION_DENIED",
                "This API key's user is a viewer of the team: it can read, not log.",
            )

    # --- typed fields ---------------------------------------------------------

    def str(self, name: str, *, required: bool = False, default: str = "") -> str:
        return text(self.data.get(name), name, required=required, default=default)

    def int(self, name: str, *, default: int | None = None) -> int | None:
        return integer(self.data.get(name), name, default=default)

    def list(self, name: str) -> list[Any]:
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise invalid(f"Field '{name}' must be a list.")
        return value

    def run_id(self) -> str:
        return self.str("run_id") or self.str("run_uuid", required=True)


def text(value: Any, name: str, *, required: bool = False, default: str = "") -> str:
    if value is None or value == "":
        if required:
            raise invalid(f"Missing value for required parameter '{name}'.")
        return default
    if not isinstance(value, str):
        raise invalid(f"Field '{name}' must be a string, got {type(value).__name__}.")
    if "\x00" in value:
        raise invalid(f"Field '{name}' must not contain NUL characters.")
    return value


def integer(value: Any, name: str, *, default: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise invalid(f"Field '{name}' must be an integer.")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.lstrip("-").isdigit():
        number = int(value)
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        raise invalid(f"Field '{name}' must be an integer, got {value!r}."[:300])
    if not -INT64 <= number < INT64:
        raise invalid(f"Field '{name}' is out of range for a 64-bit integer.")
    return number


def double(value: Any, name: str) -> float:
    if isinstance(value, bool) or value is None:
        raise invalid(f"Field '{name}' must be a number.")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        if value in NON_FINITE:
            return NON_FINITE[value]
        try:
            return float(value)
        except ValueError:
            pass
    raise invalid(f"Field '{name}' must be a number, got {value!r}."[:300])
