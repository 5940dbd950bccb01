"""Keep the API's error shape at the edges ninja does not handle.

Under ``/api/`` every answer is JSON: an unknown path or method answers 404 / 405
with ``{"error": {...}}`` instead of Django's HTML page, and a NUL character in the
path or query (PostgreSQL cannot compare text holding one) answers 400 before any
view runs. An exception that escapes a view answers 503 ``unavailable`` when the
database is down and 500 ``internal`` otherwise, and any other 500 is reshaped:
never a traceback page. Pages keep Django's own responses."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBase

log = logging.getLogger(__name__)

API_PREFIX = "/api/"

_SHAPED = {
    404: ("not_found", "No such API endpoint. The API is described at /api/v1/docs."),
    405: ("method_not_allowed", "This method is not allowed here."),
    500: ("internal", "Something went wrong on the server; it has been logged."),
}
# The database is down, restarting, or (SQLite) still locked after the busy timeout:
# clients may retry shortly; a write that was saved is recognised when retried.
UNAVAILABLE_RETRY_AFTER = 5


def error_json(status: int, code: str, message: str, fields: dict[str, list[str]]) -> HttpResponse:
    body = {"error": {"code": code, "message": message, "fields": fields}}
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")


def unavailable_json() -> HttpResponse:
    """503 ``unavailable`` with ``Retry-After``: the database does not answer."""
    response = error_json(
        503, "unavailable",
        "The database is not available right now; try again in a few seconds.", {},
    )
    response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER)
    return response


class ApiErrorShapeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        if "\x00" in request.path or any(
            "\x00" in key or "\x00" in value
            for key, values in request.GET.lists()
            for value in values
        ):
            return error_json(
                400,
                "invalid",
                "The request is not valid.",
                {"url": ["The path and query must not contain NUL (%00) characters."]},
            )
        response = self.get_response(request)
        shaped = _SHAPED.get(response.status_code)
        if shaped is None or response.get("Content-Type", "").startswith("application/json"):
            return response
        code, message = shaped
        allow = response.get("Allow")
        if allow:
            methods = ", ".join(sorted(m.strip() for m in allow.split(",")))
            message = f"This method is not allowed here; use {methods}."
        replacement = error_json(response.status_code, code, message, {})
        if allow:
            replacement["Allow"] = allow
        return replacement

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not request.path.startswith(API_PREFIX):
            return None
        if isinstance(exc, OperationalError | InterfaceError):
            log.warning("database unavailable for %s %s: %s", request.method, request.path, exc)
            return unavailable_json()
        log.error("unexpected error for %s %s", request.method, request.path, exc_info=exc)
        return error_json(500, *_SHAPED[500], {})
