"""The JSON API root: authentication, the error shape, health and viewer.

Every error leaves as ``{"error": {"code", "message", "fields"}}`` (API.md).
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer

from config import ratelimit
from config.middleware import unavailable_json
from config.openapi import document_errors
from teams.access import teams_of
from teams.models import ApiKey

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error answered with the API's error shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}


class RateLimited(ApiError):
    """429 ``rate_limited``, answered with ``Retry-After``."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(429, "rate_limited", f"{message} Try again in {retry_after} s.")
        self.retry_after = retry_after


class ApiKeyAuth(HttpBearer):
    """Bearer API keys, with the rate limits of ``config.ratelimit``."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        address = ratelimit.client_address(request)
        bad_keys = ratelimit.bad_key_limit()
        wait = bad_keys.reached(address)
        if wait is not None:
            raise RateLimited("Too many wrong API keys from your address.", wait)
        key = ApiKey.authenticate(token)
        if key is None:
            bad_keys.hit(address)
            return None
        wait = ratelimit.key_rate().hit(str(key.pk))
        if wait is not None:
            raise RateLimited("Too many requests with this API key.", wait)
        request.user = key.user
        return key.user


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON; send the string \"{name}\" where numbers allow it")


class UnstorableBodyError(ValueError):
    """Well-formed JSON the database or a number field cannot take; answered as a 400
    with ``fields.body`` holding ``message``."""

    message = "The request body is not valid."

    def __init__(self) -> None:
        super().__init__(self.message)


class NulCharacterError(UnstorableBodyError):
    """A string holds U+0000, which PostgreSQL text and JSON columns cannot store."""

    message = "Text must not contain NUL (\\u0000) characters."


class LoneSurrogateError(UnstorableBodyError):
    """A string holds half of a UTF-16 surrogate pair (``\\ud800`` alone): it is not
    Unicode text, UTF-8 cannot encode it and PostgreSQL refuses it."""

    message = "Text must be valid Unicode: unpaired surrogates (\\ud800-\\udfff) are not allowed."


class NestedTooDeeplyError(UnstorableBodyError):
    """Arrays and objects nested deeper than the JSON decoder's recursion allows."""

    message = "The JSON nests too deeply; keep objects and arrays under a few hundred levels."


class NumberTooLargeError(UnstorableBodyError):
    """A number beyond what a double holds: number fields cannot compare against it."""

    message = "Numbers must be finite and at most 1.7976931348623157e308 in size."


_ESCAPED_NUL = re.compile(rb"\\u0000", re.IGNORECASE)
# An escaped surrogate (paired ones decode to one character and pass), or one encoded
# raw the way CESU-8 does (json.loads decodes bytes with 'surrogatepass').
_MAYBE_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_MAX_DOUBLE_INT = int(sys.float_info.max)
# A number beyond a double (over 1.8e308) has an exponent of 100 or more, or a run of
# 100 or more digits (a smaller exponent leaves 209+ digits to the integer part).
# Mapping every digit to 0 and dropping '+' lets two substring searches rule both out.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789E", b"000000000e")
_HUNDRED_DIGITS = b"0" * 100


def _any_text(value: Any, bad: Callable[[str], bool]) -> bool:
    # A loop, not recursion: a body may nest as deep as the JSON decoder allows.
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if bad(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _has_nul(text: str) -> bool:
    return "\x00" in text


def _has_surrogate(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise NumberTooLargeError
    return value


def _double_sized_int(text: str) -> int:
    value = int(text)
    if abs(value) > _MAX_DOUBLE_INT:
        raise NumberTooLargeError
    return value


def _may_hold_huge_numbers(body: bytes) -> bool:
    """False when no number in ``body`` can be beyond a double (true may be wrong)."""
    shape = body.translate(_DIGITS_TO_ZERO, b"+")
    return _HUNDRED_DIGITS in shape or b"e000" in shape


def parse_json_object(body: bytes) -> dict[str, Any]:
    """A request body as a JSON object, as RFC 8259 says: bare ``NaN`` / ``Infinity``
    and numbers too large for a double are refused (the history endpoint takes
    non-finite values as strings), and so are strings PostgreSQL cannot store —
    ``\\u0000`` and unpaired surrogates. Raises ``ValueError``
    (``UnstorableBodyError`` for well-formed JSON Beacon cannot take)."""
    # Checking every number costs a Python call each (a third of the parse of a
    # history post); only bodies that may hold a huge one pay it.
    checks: dict[str, Callable[[str], Any]] = {}
    if _may_hold_huge_numbers(body):
        checks = {"parse_float": _finite_float, "parse_int": _double_sized_int}
    try:
        data = json.loads(body, parse_constant=_reject_constant, **checks)
    except RecursionError:
        raise NestedTooDeeplyError from None
    if not isinstance(data, dict):  # every body of this API is an object
        raise ValueError("the body must be a JSON object")
    if b"\\u" not in body and b"\xed" not in body:
        return data  # no escape and no raw surrogate: nothing below can match
    # Raw NUL bytes are already invalid JSON; only the escape can bring one in.
    if _ESCAPED_NUL.search(body) and _any_text(data, _has_nul):
        raise NulCharacterError
    if _MAYBE_SURROGATE.search(body) and _any_text(data, _has_surrogate):
        raise LoneSurrogateError
    return data


class StrictJSONParser(Parser):
    """Request bodies through ``parse_json_object``."""

    def parse_body(self, request: HttpRequest) -> Any:
        return parse_json_object(request.body)


class BeaconAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any) -> Any:
        return document_errors(super().get_openapi_schema(**kwargs))


api = BeaconAPI(
    parser=StrictJSONParser(),
    title="Beacon API",
    version="1",
    description="Runs, metrics, artifacts, registries, secrets, integrations and automations.",
    auth=ApiKeyAuth(),
    urls_namespace="api",
)


def error_response(
    request: HttpRequest,
    status: int,
    code: str,
    message: str,
    fields: dict[str, list[str]] | None = None,
) -> HttpResponse:
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return api.create_response(request, body, status=status)


def _location(loc: list[Any] | tuple[Any, ...]) -> str:
    # ninja reports ("body", "payload", "rows", 0, "step"); drop the wrappers.
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "payload", "data")]
    return ".".join(parts) or "body"


@api.exception_handler(ApiError)
def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    response = error_response(request, exc.status, exc.code, exc.message, exc.fields)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for err in exc.errors:
        fields.setdefault(_location(err.get("loc", ())), []).append(str(err.get("msg", "")))
    return error_response(request, 400, "invalid", "The request is not valid.", fields)


@api.exception_handler(DjangoValidationError)
def on_django_validation_error(
    request: HttpRequest, exc: DjangoValidationError
) -> HttpResponse:
    fields = exc.message_dict if hasattr(exc, "error_dict") else {"body": exc.messages}
    return error_response(request, 400, "invalid", "The request is not valid.", fields)


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(
        request, 401, "unauthorized", "Send a valid API key as 'Authorization: Bearer <key>'."
    )


@api.exception_handler(RequestDataTooBig)
def on_too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return error_response(request, 413, "too_large", "The request body is too large.")


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, 404, "not_found", str(exc) or "Not found.")


@api.exception_handler(PermissionDenied)
def on_forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return error_response(
        request, 403, "forbidden", str(exc) or "Your role in this team does not allow this."
    )


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    codes = {400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not_found",
             405: "method_not_allowed", 409: "conflict", 413: "too_large", 429: "rate_limited"}
    message, fields = str(exc), None
    if exc.status_code == 400 and isinstance(exc.__cause__, UnstorableBodyError):
        message = "The request body is not valid."
        fields = {"body": [exc.__cause__.message]}
    elif exc.status_code == 400 and message.startswith("Cannot parse request body"):
        message = "The request body is not a valid JSON object."
        fields = {"body": ["Send a JSON object, e.g. {\"name\": \"value\"}."]}
    code = codes.get(exc.status_code, "error")
    return error_response(request, exc.status_code, code, message, fields)


@api.exception_handler(OperationalError)
def on_database_unavailable(request: HttpRequest, exc: OperationalError) -> HttpResponse:
    log.warning("database unavailable for %s %s: %s", request.method, request.path, exc)
    return unavailable_json()


@api.exception_handler(InterfaceError)
def on_database_gone(request: HttpRequest, exc: InterfaceError) -> HttpResponse:
    log.warning("database connection lost for %s %s: %s", request.method, request.path, exc)
    return unavailable_json()


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A bug: logged with its traceback, answered in the error shape (never the traceback)."""
    log.exception("unexpected error for %s %s", request.method, request.path)
    return error_response(
        request, 500, "internal", "Something went wrong on the server; it has been logged."
    )


@api.get("/health", auth=None, tags=["meta"])
def health(request: HttpRequest) -> HttpResponse:
    """200 when the database answers; also reports the background queue."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        from django_q.brokers import get_broker

        pending = get_broker().queue_size() or 0
    except DatabaseError:
        return error_response(request, 503, "unavailable", "The database does not answer.")
    except Exception:  # the broker is down: the database still answers
        return api.create_response(
            request, {"status": "degraded", "queue": {"pending": None}}, status=503
        )
    return api.create_response(request, {"status": "ok", "queue": {"pending": pending}}, status=200)


@api.get("/viewer", tags=["meta"])
def viewer(request: HttpRequest) -> dict[str, Any]:
    return {
        "username": request.user.username,
        "teams": [{"slug": t.team.slug, "role": t.role} for t in teams_of(request.user)],
    }


api.add_router("/", "config.readiness.router")  # GET /ready (ops)
api.add_router("/teams/", "teams.api.router")
api.add_router("/teams/", "projects.api.router")
api.add_router("/teams/", "projects.tags_api.router")
api.add_router("/teams/", "registries.api.router")
api.add_router("/teams/", "automations.api.router")
