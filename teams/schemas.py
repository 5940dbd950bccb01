"""API input rules shared by every router: names in paths and bodies, and the
bodies of the secrets and integrations endpoints."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from ninja import Schema
from pydantic import AfterValidator, Field

from config.api import ApiError
from teams.models import NAME_RE, SECRET_NAME_RE

NAME_MESSAGE = "Use 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit."
SECRET_NAME_MESSAGE = (
    "Use 1–128 capital letters, digits and '_', not starting with a digit."
)
SECRET_VALUE_MAX_BYTES = 64 * 1024

_name = re.compile(NAME_RE)
_secret_name = re.compile(SECRET_NAME_RE)


def is_name(value: object) -> bool:
    return isinstance(value, str) and bool(_name.match(value))


def is_secret_name(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 128 and bool(_secret_name.match(value))


def invalid(fields: dict[str, list[str]], message: str = "The request is not valid.") -> ApiError:
    return ApiError(400, "invalid", message, fields)


def check_names(**values: str) -> None:
    """Raise a 400 naming every path or body field that is not a valid name."""
    fields = {field: [NAME_MESSAGE] for field, value in values.items() if not is_name(value)}
    if fields:
        raise invalid(fields)


def check_secret_name(value: str, field: str = "name") -> None:
    if not is_secret_name(value):
        raise invalid({field: [SECRET_NAME_MESSAGE]})


def _valid_name(value: str) -> str:
    if not is_name(value):
        raise ValueError(NAME_MESSAGE)
    return value


Name = Annotated[str, AfterValidator(_valid_name)]


# --- Secrets ---------------------------------------------------------------


def _valid_secret_value(value: str) -> str:
    if not value:
        raise ValueError("The value must not be empty.")
    if len(value.encode()) > SECRET_VALUE_MAX_BYTES:
        raise ValueError("The value must be at most 64 KiB.")
    return value


class SecretIn(Schema):
    value: Annotated[str, Field(strict=True), AfterValidator(_valid_secret_value)]


# --- Integrations ----------------------------------------------------------

WEBHOOK_FIELDS = ("url", "access_token_secret", "payload_secret")
SLACK_FIELDS = ("workspace", "channel", "channel_id", "webhook_url_secret", "bot_token_secret")
SECRET_FIELDS = ("access_token_secret", "payload_secret", "webhook_url_secret", "bot_token_secret")

OptionalText = Annotated[str | None, Field(default=None, strict=True)]


class IntegrationIn(Schema):
    """Create an integration (``kind`` and ``name`` required)."""

    kind: Literal["slack", "webhook"]
    name: Name
    url: OptionalText = None
    access_token_secret: OptionalText = None
    payload_secret: OptionalText = None
    workspace: OptionalText = None
    channel: OptionalText = None
    channel_id: OptionalText = None
    webhook_url_secret: OptionalText = None
    bot_token_secret: OptionalText = None
    mlflow_signatures: Annotated[bool | None, Field(default=None, strict=True)] = None


class IntegrationPatch(IntegrationIn):
    """The fields of ``IntegrationIn``, every one optional."""

    kind: Literal["slack", "webhook"] | None = None
    name: Name | None = None
    # true re-enables an integration Beacon disabled; false disables it by hand.
    enabled: Annotated[bool | None, Field(default=None, strict=True)] = None


_url_validator = URLValidator(schemes=["http", "https"])


def url_problem(url: str) -> str | None:
    if len(url) > 2048:
        return "The URL must be at most 2048 characters."
    try:
        _url_validator(url)
    except ValidationError:
        return "Enter an http:// or https:// URL."
    return None


def text_problem(value: str, max_length: int, label: str) -> str | None:
    if not value.strip():
        return f"Enter the {label}."
    if len(value) > max_length:
        return f"The {label} must be at most {max_length} characters."
    return None


def integration_problems(
    kind: str, state: dict[str, Any], given: set[str]
) -> dict[str, list[str]]:
    """Field problems of an integration's complete ``state`` (secret fields hold names).

    ``given`` are the fields the request sent: a field of the other kind is only
    an error when the request itself sent it."""
    fields: dict[str, list[str]] = {}

    def add(field: str, problem: str | None) -> None:
        if problem:
            fields.setdefault(field, []).append(problem)

    other = SLACK_FIELDS if kind == "webhook" else (*WEBHOOK_FIELDS, "mlflow_signatures")
    for field in other:
        if field in given and state.get(field):
            add(field, f"Not used by {kind} integrations.")
    if kind == "webhook":
        add("url", url_problem(state.get("url") or "") if state.get("url") else "Enter the URL.")
    else:
        add("workspace", text_problem(state.get("workspace") or "", 128, "workspace"))
        add("channel", text_problem(state.get("channel") or "", 128, "channel"))
        webhook_url, bot_token = state.get("webhook_url_secret"), state.get("bot_token_secret")
        channel_id = state.get("channel_id") or ""
        if webhook_url and bot_token:
            add("bot_token_secret", "Use either webhook_url_secret or bot_token_secret, not both.")
        elif not webhook_url and not bot_token:
            add(
                "webhook_url_secret",
                "Set webhook_url_secret, or bot_token_secret with channel_id.",
            )
        elif bot_token and not channel_id.strip():
            add("channel_id", "A bot token needs the channel id, e.g. C0123ABC.")
        elif webhook_url and channel_id and "channel_id" in given:
            add("channel_id", "channel_id goes with bot_token_secret, not webhook_url_secret.")
        if channel_id and (len(channel_id) > 64 or not re.fullmatch(r"[A-Za-z0-9_-]+", channel_id)):
            add("channel_id", "A channel id is letters and digits, e.g. C0123ABC.")
    for field in SECRET_FIELDS:
        value = state.get(field)
        if field in given and value is not None and not is_secret_name(value):
            add(field, SECRET_NAME_MESSAGE)
    return fields
