"""The OpenAPI document says what the API answers besides success: the error shape
for each error status (API.md conventions), and the name rules of path parameters,
so clients and fuzzers know what a request may hold before they send it."""

from __future__ import annotations

from typing import Any

from teams.models import NAME_RE, SECRET_NAME_RE

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
        }
    },
}

ERROR_STATUSES = {
    "400": "Malformed or invalid request",
    "401": "No or bad API key",
    "403": "Your role in this team does not allow this",
    "404": "Not found, or not visible to you",
    "409": "Conflict, e.g. a duplicate name",
    "413": "Request body too large",
    "429": "Rate limited",
}

NAME = {"type": "string", "pattern": NAME_RE, "minLength": 1, "maxLength": 128}
PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "team": {"type": "string", "pattern": r"^[-a-zA-Z0-9_]+$", "minLength": 1, "maxLength": 64},
    "project": NAME,
    "registry": NAME,
    "collection": NAME,
    "artifact": NAME,
    "run": NAME,
    "version": NAME,  # v3 or an alias
    "id": {"type": "string", "pattern": r"^[0-9]{1,18}$"},
}
# Paged lists declaring them (automations.api.Page: executions, events): limit 1 to 200,
# offset 0 or more. Other lists read limit/offset in config.pagination (limit up to 1000).
QUERY_PARAMETERS: dict[str, dict[str, Any]] = {
    "limit": {"type": "integer", "minimum": 1, "maximum": 200},
    "offset": {"type": "integer", "minimum": 0},
}
SECRET_NAME = {"type": "string", "pattern": SECRET_NAME_RE, "minLength": 1, "maxLength": 128}


def _error_statuses(method: str, operation: dict[str, Any]) -> list[str]:
    statuses = ["400", "404", "429"]
    if operation.get("security"):
        statuses += ["401", "403"]
    if method in ("post", "put", "patch", "delete"):
        statuses.append("409")
    if method in ("post", "put", "patch"):
        statuses.append("413")
    return sorted(statuses)


def _parameter_schema(path: str, name: str) -> dict[str, Any] | None:
    if name == "name":
        return SECRET_NAME if "/secrets/" in path else NAME
    return PATH_PARAMETERS.get(name)


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the error responses and the rules of path and paging parameters to an
    OpenAPI document."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in _error_statuses(method, operation):
                responses.setdefault(
                    status, {"description": ERROR_STATUSES[status], "content": error}
                )
            for parameter in operation.get("parameters", []):
                name = parameter.get("name", "")
                if parameter.get("in") == "path":
                    rule = _parameter_schema(path, name)
                elif parameter.get("in") == "query":
                    rule = QUERY_PARAMETERS.get(name)
                else:
                    rule = None
                if rule is not None:
                    parameter["schema"] = {**parameter.get("schema", {}), **rule}
    return schema
