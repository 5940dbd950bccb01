"""The event catalog page: every event type per scope, its filters, its variables and
the window rules of metric conditions — generated from ``automations.events``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from automations import events
from automations.templating import METADATA_PREFIX
from automations.variables import allowed_variables
from teams.access import get_team


def catalog_rows(scope: str) -> list[dict[str, Any]]:
    rows = []
    for spec in events.specs_for_scope(scope):
        names = allowed_variables(scope, str(spec.type))
        rows.append({
            "spec": spec,
            "fields": spec.fields,
            "variables": [
                "${" + (name + "KEY" if name == METADATA_PREFIX else name) + "}" for name in names
            ],
        })
    return rows


@login_required
def event_catalog(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_team(request.user, slug)
    team = access.team
    return render(request, "automations/catalog.html", {
        "team": team,
        "access": access,
        "scopes": [("Project", catalog_rows(events.PROJECT)),
                   ("Registry", catalog_rows(events.REGISTRY))],
        "synonyms": sorted(events.WANDB_SYNONYMS.items()),
        "breadcrumbs": [(team.name, team.get_absolute_url()), ("Event catalog", None)],
    })
