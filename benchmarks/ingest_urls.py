"""The URLconf of the ingest benchmark: Beacon's URLs plus the bare endpoint it is
measured against (``benchmarks/ingest.py``). Served in process (``override_settings``)
and by gunicorn (``ingest_settings``); never part of Beacon itself."""

from __future__ import annotations

import json

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from projects.models import MetricPoint


@csrf_exempt
def bare(request: HttpRequest, run_pk: int) -> JsonResponse:
    """Parse the body and insert its points in one statement: nothing else."""
    rows = json.loads(request.body)["rows"]
    points = [(k, int(r["step"]), float(v)) for r in rows for k, v in r["metrics"].items()]
    with transaction.atomic():
        MetricPoint.insert(run_pk, points, timezone.now())
    return JsonResponse({"accepted": len(rows)}, status=202)


urlpatterns = [
    path("bench/bare/<int:run_pk>", bare),
    path("", include("config.urls")),
]
