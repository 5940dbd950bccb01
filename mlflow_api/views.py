"""The MLflow REST endpoint: ``/mlflow/<team>/api/2.0/mlflow/...``.

One view routes ``(method, path)`` to a handler of ``experiments``, ``runs``,
``logged_models`` or ``registry``; each handler takes a :class:`Call` and returns
the response body. Everything under ``/mlflow/<team>/`` answers JSON: MLflow's
error shape for errors, ``ENDPOINT_NOT_FOUND`` for what Beacon does not serve."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from mlflow_api import artifacts, experiments, logged_models, registry, runs
from mlflow_api.calls import Call, authenticate, parse_body
from mlflow_api.errors import MlflowError, error_response

log = logging.getLogger(__name__)

Handler = Callable[[Call], dict[str, Any]]

ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "experiments/get-by-name"): experiments.get_by_name,
    ("POST", "experiments/create"): experiments.create,
    ("GET", "experiments/get"): experiments.get,
    ("POST", "experiments/search"): experiments.search,
    ("GET", "experiments/search"): experiments.search,
    ("POST", "experiments/set-experiment-tag"): experiments.set_tag,
    ("POST", "runs/create"): runs.create,
    ("POST", "runs/update"): runs.update,
    ("GET", "runs/get"): runs.get,
    ("POST", "runs/search"): runs.search,
    ("POST", "runs/log-metric"): runs.log_metric,
    ("POST", "runs/log-parameter"): runs.log_param,
    ("POST", "runs/set-tag"): runs.set_tag,
    ("POST", "runs/delete-tag"): runs.delete_tag,
    ("POST", "runs/log-batch"): runs.log_batch,
    ("POST", "runs/log-inputs"): runs.log_inputs,
    ("POST", "runs/outputs"): runs.log_outputs,
    ("GET", "metrics/get-history"): runs.get_history,
    ("POST", "logged-models"): logged_models.create,
    ("POST", "logged-models/search"): logged_models.search,
    ("POST", "registered-models/create"): registry.create_model,
    ("GET", "registered-models/get"): registry.get_model,
    ("GET", "registered-models/search"): registry.search_models,
    ("POST", "registered-models/set-tag"): registry.set_model_tag,
    ("DELETE", "registered-models/delete-tag"): registry.delete_model_tag,
    ("POST", "registered-models/get-latest-versions"): registry.latest_versions,
    ("GET", "registered-models/get-latest-versions"): registry.latest_versions,
    ("POST", "registered-models/alias"): registry.set_alias,
    ("DELETE", "registered-models/alias"): registry.delete_alias,
    ("GET", "registered-models/alias"): registry.get_by_alias,
    ("POST", "model-versions/create"): registry.create_version,
    ("GET", "model-versions/get"): registry.get_version,
    ("DELETE", "model-versions/delete"): registry.delete_version,
    ("GET", "model-versions/get-download-uri"): registry.download_uri,
    ("GET", "model-versions/search"): registry.search_versions,
    ("POST", "model-versions/set-tag"): registry.set_version_tag,
    ("DELETE", "model-versions/delete-tag"): registry.delete_version_tag,
}
# Paths with an id inside: (method, pattern) → handler, the id in call.data[name].
_MODEL = r"logged-models/(?P<model_id>[^/]+)"
PATTERN_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    ("GET", re.compile(_MODEL), logged_models.get),
    ("PATCH", re.compile(_MODEL), logged_models.finalize),
    ("POST", re.compile(_MODEL + "/params"), logged_models.log_params),
    ("PATCH", re.compile(_MODEL + "/tags"), logged_models.set_tags),
    ("DELETE", re.compile(_MODEL + r"/tags/(?P<tag_key>.+)"), logged_models.delete_tag),
]


def resolve(method: str, endpoint: str) -> tuple[Handler, dict[str, str]] | None:
    handler = ROUTES.get((method, endpoint.rstrip("/")))
    if handler is not None:
        return handler, {}
    for route_method, pattern, handler in PATTERN_ROUTES:
        m = pattern.fullmatch(endpoint.rstrip("/"))
        if m and route_method == method:
            return handler, m.groupdict()
    return None


def json_response(body: dict[str, Any]) -> HttpResponse:
    return HttpResponse(
        json.dumps(body, allow_nan=False), status=200, content_type="application/json"
    )


@csrf_exempt
def tracking(request: HttpRequest, team: str, endpoint: str) -> HttpResponseBase:
    """``/mlflow/<team>/api/2.0/mlflow/<endpoint>``."""
    found = resolve(request.method or "GET", endpoint)
    if found is None:
        return not_implemented(request, team, endpoint)
    handler, path_values = found
    try:
        access = authenticate(request, team)
        call = Call(request, access, {**parse_body(request), **path_values})
        return json_response(handler(call))
    except MlflowError as exc:
        return error_response(exc.code, exc.message)
    except RequestDataTooBig:
        return error_response("INVALID_PARAMETER_VALUE", "The request body is too large.")
    except DatabaseError as exc:
        # Text or numbers the database cannot store (the request was rolled back).
        log.warning("MLflow %s %s refused by the database: %s", request.method, endpoint, exc)
        return error_response("INVALID_PARAMETER_VALUE", "The database refused a value.")
    except Exception:
        # MLflow clients must never get an HTML 500; the traceback goes to the log.
        log.exception("MLflow %s %s failed", request.method, endpoint)
        return error_response(
            "BAD_REQUEST", "Beacon could not process this request; the error is logged."
        )


@csrf_exempt
def artifact_files(request: HttpRequest, team: str, path: str = "") -> HttpResponseBase:
    """``/mlflow/<team>/api/2.0/mlflow-artifacts/artifacts[/<path>]``."""
    method = request.method or "GET"
    try:
        access = authenticate(request, team)
        call = Call(request, access, {})
        if method == "GET" and not path:
            return json_response(artifacts.listing(call, request.GET.get("path", "")))
        if method == "GET":
            return artifacts.download(call, path)
        if method == "PUT":
            return json_response(artifacts.upload(call, request, path))
        if method == "DELETE":
            return json_response(artifacts.delete(call, path))
    except MlflowError as exc:
        return error_response(exc.code, exc.message)
    except OSError as exc:
        log.warning("MLflow file %s %s failed: %s", method, path, exc)
        return error_response("INVALID_PARAMETER_VALUE", "The file could not be stored.")
    except Exception:
        log.exception("MLflow file %s %s failed", method, path)
        return error_response(
            "BAD_REQUEST", "Beacon could not process this request; the error is logged."
        )
    return not_implemented(request, team)


@csrf_exempt
def not_implemented(
    request: HttpRequest, team: str = "", endpoint: str | None = ""
) -> HttpResponse:
    """Anything else under ``/mlflow/<team>/``."""
    return error_response(
        "ENDPOINT_NOT_FOUND",
        f"Beacon does not serve {request.method} {request.path} of the MLflow REST API.",
    )
