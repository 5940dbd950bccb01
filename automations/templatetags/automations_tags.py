"""Template helpers of the Automations pages: status badges, JSON, sort links.

Times use ``reltime`` of ``{% load beacon %}``."""

from __future__ import annotations

import json
import re
from typing import Any

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def shown_target(target: str, access: Any) -> str:
    """A target as the reader may see it: webhook URLs host only unless they are an admin
    (``access`` is the page's ``TeamAccess``)."""
    from teams.models import shown_target as shown

    return shown(target or "", full=bool(getattr(access, "can_manage", False)))


@register.filter
def pretty_json(value: Any) -> str:
    """JSON indented for reading; escaped by the template like any text."""
    if value is None:
        return ""
    return json.dumps(value, indent=2, sort_keys=False, ensure_ascii=False)


@register.inclusion_tag("automations/_status.html")
def status_badge(status: str | None, label: str = "") -> dict[str, Any]:
    return {"status": status or "", "label": label or (status or "never run")}


@register.simple_tag(takes_context=True)
def query_with(context: template.Context, **changes: Any) -> str:
    """The current query string with some parameters replaced (and the page reset)."""
    request = context["request"]
    params = request.GET.copy()
    if "page" not in changes:
        params.pop("page", None)
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return "?" + encoded if encoded else "?"


@register.simple_tag(takes_context=True)
def sort_link(context: template.Context, key: str, label: str) -> SafeString:
    """A column header that sorts by ``key``; a second click reverses the order."""
    current = context["request"].GET.get("sort", "")
    if current == key:
        target, arrow, state = "-" + key, " ▲", "ascending"
    elif current == "-" + key:
        target, arrow, state = key, " ▼", "descending"
    else:
        target, arrow, state = key, "", ""
    href = query_with(context, sort=target)
    if state:
        return format_html('<a href="{}" aria-sort="{}">{}{}</a>', href, state, label, arrow)
    return format_html('<a href="{}">{}</a>', href, label)


@register.filter
def widget_kind(bound_field: Any) -> str:
    """``radios``, ``checkboxes``, ``checkbox`` or ``input``: how to label a field."""
    widget = bound_field.field.widget
    input_type = getattr(widget, "input_type", "")
    if getattr(widget, "allow_multiple_selected", False) and input_type == "checkbox":
        return "checkboxes"
    if input_type == "radio":
        return "radios"
    if input_type == "checkbox":
        return "checkbox"
    return "input"


# What each stored Event.type means, for activity lists (catalog types are listed by label).
HAPPENINGS = {
    "RUN_STATE": "Run state changed",
    "RUN_METRIC": "Metrics logged",
    "CREATE_ARTIFACT": "Artifact version created",
    "ADD_ARTIFACT_ALIAS": "Alias added",
    "LINK_ARTIFACT": "Version linked",
}


@register.filter
def happening(event_type: str) -> str:
    """An ``Event.type`` in words ("ADD_ARTIFACT_ALIAS" → "Alias added")."""
    return HAPPENINGS.get(event_type, event_type.replace("_", " ").capitalize())


_TICKS = re.compile(r"`([^`]+)`")


@register.filter
def ticks(text: str) -> SafeString:
    """Plain text with `backticked` words shown as code; everything else escaped."""
    return mark_safe(_TICKS.sub(r"<code>\1</code>", escape(text or "")))  # noqa: S308
