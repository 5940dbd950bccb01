"""HTTP endpoints under ``/wandb/``: GraphQL, the run file stream, signed uploads and
downloads, and the SDK's telemetry posts (accepted and dropped)."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core import signing
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from graphql import GraphQLError, graphql_sync

from wandb_api import filestream, storage
from wandb_api.auth import key_user
from wandb_api.resolvers import Root, schema
from wandb_api.runs import ProtocolError

log = logging.getLogger(__name__)

UNAUTHORIZED = {"errors": [{"message": "Send a Beacon API key as HTTP Basic api:<key>."}]}


# wandb-core batches file-stream lines (console output too) into posts that may pass
# Django's DATA_UPLOAD_MAX_MEMORY_SIZE; refusing one would lose the run's data.
MAX_BODY = 64 * 1024 * 1024


def _json_body(request: HttpRequest) -> Any:
    try:
        raw = request.read(MAX_BODY + 1)
    except OSError:
        return None
    if len(raw) > MAX_BODY:
        return None
    try:
        return json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


@csrf_exempt
def graphql_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return JsonResponse({"errors": [{"message": "POST a GraphQL query."}]}, status=405)
    user = key_user(request)
    if user is None:
        return JsonResponse(UNAUTHORIZED, status=401)
    body = _json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return JsonResponse(
            {"errors": [{"message": "The body must be JSON with a query."}]}, status=400
        )
    variables = body.get("variables") if isinstance(body.get("variables"), dict) else None
    result = graphql_sync(
        schema(),
        body["query"],
        root_value=Root(user),
        context_value={"request": request, "user": user},
        variable_values=variables,
        operation_name=body.get("operationName") or None,
    )
    out: dict[str, Any] = {"data": result.data}
    if result.errors:
        out["errors"] = [_error(e) for e in result.errors]
    return JsonResponse(out)


def _error(error: GraphQLError) -> dict[str, Any]:
    original = error.original_error
    if original is not None and not isinstance(original, ProtocolError | GraphQLError):
        log.exception("wandb GraphQL resolver failed", exc_info=original)
        return {"message": "Beacon could not answer this field.", "path": error.path}
    formatted = error.formatted
    if original is None:
        log.info("wandb GraphQL: %s", error.message)
    return dict(formatted)


@csrf_exempt
def file_stream_view(request: HttpRequest, entity: str, project: str, run: str) -> HttpResponse:
    if request.method != "POST":
        return JsonResponse({"error": "POST file stream chunks."}, status=405)
    user = key_user(request)
    if user is None:
        return JsonResponse(UNAUTHORIZED, status=401)
    body = _json_body(request)
    if not isinstance(body, dict):
        return JsonResponse({"error": "The body must be a JSON object."}, status=400)
    try:
        filestream.accept(user, entity, project, run, body)
    except ProtocolError as exc:
        return JsonResponse({"error": str(exc)}, status=404)
    return JsonResponse({"exitcode": None, "limits": {}})


@csrf_exempt
def upload_view(request: HttpRequest, token: str) -> HttpResponse:
    """A PUT to a URL Beacon signed (no auth header: the signature is the permission)."""
    if request.method != "PUT":
        return HttpResponse(status=405)
    try:
        path = storage.target_of(token)
    except (signing.BadSignature, ValueError):
        return HttpResponse("This upload URL is invalid or has expired.", status=403)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with tmp.open("wb") as out:
        while chunk := request.read(1 << 20):
            out.write(chunk)
    tmp.replace(path)
    return HttpResponse(status=200)


def download_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        path = storage.target_of(token, download=True)
    except (signing.BadSignature, ValueError):
        return HttpResponse("This download URL is invalid or has expired.", status=403)
    if not path.is_file():
        return HttpResponse(status=404)
    return FileResponse(path.open("rb"))


@csrf_exempt
def accept_and_drop(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Telemetry and other posts Beacon does not use: accepted, not stored."""
    return JsonResponse({})
