"""Keep the API's error shape at the edges ninja does not handle.

Under ``/api/`` every answer is JSON: an unknown path or method answers 404 / 405
with ``{"error": {...}}`` instead of Django's HTML page, and a NUL character in the
path or query (PostgreSQL cannot compare text holding one) answers 400 before any
view runs. Pages keep Django's own responses."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBase

API_PREFIX = "/api/"

_SHAPED = {
    404: ("not_found", "No such API endpoint. The API is described at /api/v1/docs."),
    405: ("method_not_allowed", "This method is not allowed here."),
}


def error_json(status: int, code: str, message: str, fields: dict[str, list[str]]) -> HttpResponse:
    body = {"error": {"code": code, "message": message, "fields": fields}}
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")


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
