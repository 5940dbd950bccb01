"""Read-only pages: the Automations tab, scope history, an automation and its history."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from automations.dispatch import next_fire_times
from automations.events import METRIC_TYPES
from automations.models import Execution
from automations.views.display import decorate, event_label, event_type_choices
from automations.views.scope import automation_page, scope_page

PER_PAGE = 25
SORTS = {"name": "name", "event": "event_type", "last": "last_at"}


def paginate(request: HttpRequest, qs: QuerySet[Any]) -> Page:
    return Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))


def with_last_execution(qs: QuerySet[Any]) -> QuerySet[Any]:
    """Annotate each automation with its newest execution (one subquery, no N+1)."""
    latest = Execution.objects.filter(automation=OuterRef("pk")).order_by("-created_at", "-id")
    return qs.annotate(
        last_status=Subquery(latest.values("status")[:1]),
        last_at=Subquery(latest.values("created_at")[:1]),
        last_id=Subquery(latest.values("id")[:1]),
    )


def sorted_by(qs: QuerySet[Any], sort: str) -> QuerySet[Any]:
    desc = sort.startswith("-")
    field = SORTS.get(sort.lstrip("-"))
    if field is None:
        return qs.order_by("name")
    expr = F(field).desc(nulls_last=True) if desc else F(field).asc(nulls_last=True)
    return qs.order_by(expr, "name")


@login_required
def automation_list(
    request: HttpRequest, slug: str, project: str | None = None, registry: str | None = None
) -> HttpResponse:
    page = scope_page(request, slug, project=project, registry=registry)
    qs = with_last_execution(page.automations().select_related("team", "integration"))
    event = request.GET.get("event", "")
    enabled = request.GET.get("enabled", "")
    q = request.GET.get("q", "").strip()
    if event:
        qs = qs.filter(event_type=event)
    if enabled in ("yes", "no"):
        qs = qs.filter(enabled=enabled == "yes")
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(description__icontains=q))
    rows = paginate(request, sorted_by(qs, request.GET.get("sort", "")))
    for automation in rows:
        decorate(automation)
    filtered = bool(event or enabled or q)
    return render(
        request,
        "automations/list.html",
        page.context(
            rows=rows,
            has_any=filtered or rows.paginator.count > 0,
            filtered=filtered,
            event_choices=event_type_choices(page.scope_type),
            params={"event": event, "enabled": enabled, "q": q},
            breadcrumbs=page.breadcrumbs(),
            tab="automations",
        ),
    )


def execution_rows(request: HttpRequest, qs: QuerySet[Execution]) -> tuple[Page, str]:
    status = request.GET.get("status", "")
    if status in Execution.Status.values:
        qs = qs.filter(status=status)
    qs = qs.select_related("automation", "event").order_by("-created_at", "-id")
    rows = paginate(request, qs)
    for execution in rows:
        execution.event_words = event_label(  # type: ignore[attr-defined]
            execution.automation.scope_type, execution.automation.event_type
        )
    return rows, status


@login_required
def scope_history(
    request: HttpRequest, slug: str, project: str | None = None, registry: str | None = None
) -> HttpResponse:
    page = scope_page(request, slug, project=project, registry=registry)
    rows, status = execution_rows(request, page.executions())
    return render(
        request,
        "automations/history.html",
        page.context(
            rows=rows,
            status=status,
            statuses=Execution.Status.choices,
            breadcrumbs=page.breadcrumbs(("History", None)),
            tab="history",
        ),
    )


@login_required
def automation_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    page, automation = automation_page(request, slug, pk)
    decorate(automation)
    rows, status = execution_rows(request, automation.executions.all())
    is_metric = automation.event_type in METRIC_TYPES
    return render(
        request,
        "automations/detail.html",
        page.context(
            automation=automation,
            is_metric=is_metric,
            fire_once=next_fire_times(automation) if is_metric else [],
            rows=rows,
            status=status,
            statuses=Execution.Status.choices,
            breadcrumbs=page.breadcrumbs((automation.name, None)),
            tab="automations",
        ),
    )

