"""One execution in full, and its redelivery (admins)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_POST

from automations.models import Execution
from automations.views.display import condition_words, event_label
from automations.views.scope import execution_page
from teams.access import Role
from teams.models import shown_target, shown_text


def why_matched(execution: Execution) -> dict[str, Any]:
    """The verdict the pipeline stored, or the event's evaluation entry as a fallback."""
    match = execution.match if isinstance(execution.match, dict) else {}
    reason = match.get("reason") or ""
    values = match.get("values") if isinstance(match.get("values"), dict) else {}
    if not reason:
        for entry in execution.event.evaluations or []:
            if isinstance(entry, dict) and entry.get("automation") == execution.automation_id:
                reason = entry.get("reason") or ""
                break
    shown = {k: v for k, v in (values or {}).items() if isinstance(v, str | int | float | list)}
    return {"reason": reason, "values": shown}


@login_required
def execution_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    page, execution = execution_page(request, slug, pk)
    automation = execution.automation
    event = execution.event
    full = page.access.can_manage
    # Shown, never saved: non-admins read a webhook's URL as its host only.
    attempts = list(execution.attempts.all())
    for attempt in attempts:
        attempt.response_excerpt = shown_text(attempt.response_excerpt, automation.integration,
                                              full=full)
        attempt.error = shown_text(attempt.error, automation.integration, full=full)
    execution.error = shown_text(execution.error, automation.integration, full=full)
    return render(
        request,
        "automations/execution.html",
        page.context(
            execution=execution,
            automation=automation,
            event=event,
            event_words=event_label(event.scope_type, automation.event_type),
            condition=condition_words(
                automation.scope_type, automation.event_type, automation.filter
            ),
            why=why_matched(execution),
            attempts=attempts,
            target=shown_target(execution.target or automation.integration.target, full=full),
            redeliveries=list(execution.redeliveries.order_by("-created_at")),
            breadcrumbs=page.breadcrumbs(
                (automation.name, automation.get_absolute_url()),
                (f"Execution #{execution.pk}", None),
            ),
            tab="history",
        ),
    )


@login_required
@require_POST
def execution_redeliver(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    from automations.operations import NotRedeliverable, redeliver

    _, execution = execution_page(request, slug, pk, need=Role.ADMIN)
    try:
        new = redeliver(execution, request.user)
    except NotRedeliverable as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(execution.get_absolute_url())
    messages.success(request, f"Redelivered as execution #{new.pk}: {new.get_status_display()}.")
    return HttpResponseRedirect(new.get_absolute_url())
