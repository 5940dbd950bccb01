"""MLflow's error shape: ``{"error_code": "...", "message": "..."}`` with its HTTP codes."""

from __future__ import annotations

import json

from django.http import HttpResponse

STATUS = {
    "INVALID_PARAMETER_VALUE": 400,
    "BAD_REQUEST": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "REQUEST_LIMIT_EXCEEDED": 429,
}


class MlflowError(Exception):
    """An error answered in MLflow's shape; the code decides the HTTP status."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        return STATUS[self.code]


def invalid(message: str) -> MlflowError:
    return MlflowError("INVALID_PARAMETER_VALUE", message)


def not_found(message: str) -> MlflowError:
    return MlflowError("RESOURCE_DOES_NOT_EXIST", message)


def error_response(code: str, message: str) -> HttpResponse:
    body = json.dumps({"error_code": code, "message": message})
    response = HttpResponse(body, status=STATUS[code], content_type="application/json")
    if code == "UNAUTHENTICATED":
        response["WWW-Authenticate"] = 'Bearer realm="beacon", Basic realm="beacon"'
    return response
