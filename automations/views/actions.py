"""One-click admin actions on an automation: enable/disable, mute, test, delete."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from automations.models import Automation
from automations.views.scope import automation_page
from teams.access import Role


def back_to(request: HttpRequest, fallback: str) -> str:
    """The ``next`` URL when it is a safe local one, else ``fallback``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return fallback


@login_required
@require_POST
def automation_toggle(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    page, automation = automation_page(request, slug, pk, need=Role.ADMIN)
    automation.enabled = not automation.enabled
    Automation.objects.filter(pk=automation.pk).update(enabled=automation.enabled)
    if request.htmx:  # type: ignore[attr-defined]
        return render(
            request, "automations/_toggle.html", {"automation": automation, "access": page.access}
        )
    state = "enabled" if automation.enabled else "disabled"
    messages.success(request, f"Automation {automation.name} {state}.")
    return HttpResponseRedirect(back_to(request, page.list_url))


# The quick mute buttons of the automation page: minutes (0 unmutes).
MUTE_CHOICES = [(60, "1 hour"), (24 * 60, "1 day"), (7 * 24 * 60, "1 week")]


@login_required
@require_POST
def automation_mute(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Mute for one of ``MUTE_CHOICES`` or unmute (``minutes=0``); admins only."""
    page, automation = automation_page(request, slug, pk, need=Role.ADMIN)
    raw = request.POST.get("minutes", "")
    allowed = {0, *(minutes for minutes, _ in MUTE_CHOICES)}
    if not raw.isdigit() or int(raw) not in allowed:
        return HttpResponseBadRequest("Choose how long to mute the automation.")
    minutes = int(raw)
    automation.muted_until = timezone.now() + timedelta(minutes=minutes) if minutes else None
    Automation.objects.filter(pk=automation.pk).update(muted_until=automation.muted_until)
    if automation.muted_until is None:
        messages.success(request, f"Automation {automation.name} unmuted.")
    else:
        until = timezone.localtime(automation.muted_until).strftime("%Y-%m-%d %H:%M")
        messages.success(request, f"Automation {automation.name} muted until {until}.")
    return HttpResponseRedirect(back_to(request, automation.get_absolute_url()))


@login_required
@require_POST
def automation_test(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    from automations.operations import run_test

    page, automation = automation_page(request, slug, pk, need=Role.ADMIN)
    execution = run_test(automation, request.user)
    if request.htmx:  # type: ignore[attr-defined]
        attempt = execution.attempts.order_by("-number").first()
        return render(
            request,
            "automations/_test_result.html",
            {"execution": execution, "attempt": attempt, "team": page.team},
        )
    messages.info(request, f"Test sent: {execution.get_status_display()}.")
    return HttpResponseRedirect(execution.get_absolute_url())


@login_required
def automation_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    page, automation = automation_page(request, slug, pk, need=Role.ADMIN)
    if request.method == "POST":
        name = automation.name
        automation.delete()
        messages.success(request, f"Automation {name} deleted.")
        return HttpResponseRedirect(page.list_url)
    return render(
        request,
        "automations/delete.html",
        page.context(
            automation=automation,
            execution_count=automation.executions.count(),
            breadcrumbs=page.breadcrumbs(
                (automation.name, automation.get_absolute_url()), ("Delete", None)
            ),
            tab="automations",
        ),
    )
