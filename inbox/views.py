"""Inbox pages (admins only) and the public receiving endpoint.

Inbox pages are for team admins only: a received body can contain secret
values that automations substitute into payloads (``${SECRET_NAME}``), which
members and viewers must never read.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from inbox.forms import InboxForm
from inbox.models import MAX_BODY_BYTES, Inbox, team_secret_values
from teams.access import Role, TeamAccess, get_team

SHOWN_REQUESTS = 50


@csrf_exempt
def receive(request: HttpRequest, token: str) -> HttpResponse:
    """Record any request sent to an inbox URL and answer ``200 {"ok": true}``."""
    inbox = Inbox.objects.filter(token=token).select_related("team").first()
    if inbox is None:
        return JsonResponse({"ok": False, "error": "No such inbox."}, status=404)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    # Refuse a declared oversize body before reading it; read one byte more to catch a lie.
    body = b"" if length > MAX_BODY_BYTES else request.read(MAX_BODY_BYTES + 1)
    if length > MAX_BODY_BYTES or len(body) > MAX_BODY_BYTES:
        return JsonResponse(
            {"ok": False, "error": f"Body larger than {MAX_BODY_BYTES} bytes."}, status=413
        )
    inbox.receive(
        method=request.method or "GET",
        headers=dict(request.headers),
        body=body,
        query=request.META.get("QUERY_STRING", ""),
        remote_addr=request.META.get("REMOTE_ADDR", ""),
    )
    return JsonResponse({"ok": True})


def _context(access: TeamAccess, **extra: Any) -> dict[str, Any]:
    team = access.team
    crumbs: list[tuple[str, str | None]] = [
        (team.name, team.get_absolute_url()),
        ("Settings", reverse("team_settings", args=[team.slug])),
        ("Inboxes", reverse("inbox_list", args=[team.slug])),
    ]
    if "inbox" in extra:
        crumbs.append((extra["inbox"].name, None))
    else:
        crumbs[-1] = ("Inboxes", None)
    return {"team": team, "access": access, "tab": "inboxes", "breadcrumbs": crumbs, **extra}


def _inbox(request: HttpRequest, slug: str, pk: int) -> tuple[TeamAccess, Inbox]:
    access = get_team(request.user, slug, need=Role.ADMIN)
    return access, get_object_or_404(Inbox, team=access.team, pk=pk)


@login_required
def inbox_list(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_team(request.user, slug, need=Role.ADMIN)
    form = InboxForm(request.POST or None, team=access.team)
    if request.method == "POST" and form.is_valid():
        inbox = Inbox.objects.create(
            team=access.team, name=form.cleaned_data["name"], created_by=request.user
        )
        messages.success(request, f"Inbox “{inbox.name}” created. Point a webhook at its URL.")
        return redirect(inbox)
    inboxes = access.team.inboxes.annotate(n_requests=Count("requests"))
    return render(
        request, "inbox/inbox_list.html", _context(access, form=form, inboxes=inboxes)
    )


@login_required
def inbox_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    from inbox.signatures import candidate_integrations

    access, inbox = _inbox(request, slug, pk)
    ctx = _context(
        access,
        integrations=candidate_integrations(inbox),
        **_requests_context(inbox),
    )
    return render(request, "inbox/inbox_detail.html", ctx)


def _seen(inbox: Inbox) -> tuple[str, int]:
    """A short fingerprint of the list (the newest request id and the count), and the count."""
    stats = inbox.requests.aggregate(newest=Max("id"), total=Count("id"))
    return f"{stats['newest'] or 0}-{stats['total']}", stats["total"]


def _requests_context(inbox: Inbox) -> dict[str, Any]:
    seen, total = _seen(inbox)
    secrets = team_secret_values(inbox.team)
    shown = [r.mask_for_display(secrets) for r in inbox.requests.all()[:SHOWN_REQUESTS]]
    return {"inbox": inbox, "received": shown, "total": total, "seen": seen}


@login_required
def inbox_requests(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """The polled partial, newest requests first; ``204`` (htmx keeps the page as it
    is) when nothing arrived or was cleared since the ``seen`` fingerprint."""
    _, inbox = _inbox(request, slug, pk)
    if request.GET.get("seen") == _seen(inbox)[0]:
        return HttpResponse(status=204)
    return render(request, "inbox/_requests.html", _requests_context(inbox))


@login_required
@require_POST
def inbox_clear(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    _, inbox = _inbox(request, slug, pk)
    count = inbox.clear()
    messages.success(request, f"Cleared {count} request{'s' if count != 1 else ''}.")
    return redirect(inbox)


@login_required
@require_POST
def inbox_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access, inbox = _inbox(request, slug, pk)
    name = inbox.name
    inbox.delete()
    messages.success(request, f"Inbox “{name}” deleted.")
    return redirect("inbox_list", access.team.slug)
