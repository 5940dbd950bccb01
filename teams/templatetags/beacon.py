"""Template helpers shared by every page: ``{% load beacon %}``."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timesince

register = template.Library()


@register.filter
def reltime(value: datetime | None) -> SafeString | str:
    """``3 minutes ago`` inside ``<time>``, with the exact ISO time as ``datetime`` and tooltip."""
    if not value:
        return ""
    now = timezone.now()
    iso = value.isoformat(timespec="seconds")
    if value > now:
        words = "in " + timesince(now, value, depth=1)
    elif (now - value).total_seconds() < 60:
        words = "just now"
    else:
        words = timesince(value, now, depth=1) + " ago"
    return format_html('<time datetime="{}" title="{}">{}</time>', iso, iso, words)


@register.filter
def num(value: Any) -> str:
    """A metric value for people: 4 significant digits; NaN and infinities as words."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return f"{value:.4g}"
    return str(value)


@register.filter
def items_sorted(value: dict[str, Any] | None) -> list[tuple[str, Any]]:
    """A dict's items in key order, for stable tables."""
    return sorted((value or {}).items())


@register.simple_tag(takes_context=True)
def page_query(context: template.Context, param: str, number: int) -> str:
    """The current query string with ``param`` (a page number parameter) replaced."""
    params = context["request"].GET.copy()
    params[param] = str(number)
    return "?" + params.urlencode()
