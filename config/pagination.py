"""Pages of the JSON API's lists: ``?limit=&offset=``, the next page in a ``Link`` header.

A list stays the JSON array it always was; when more items follow, the response
carries ``Link: <https://…?offset=200&limit=100>; rel="next"`` (RFC 8288). Every
list is read in a stable order (ending in a unique column), so pages neither skip
nor repeat items while nothing is written. One row more than the page is read to
know whether a next page exists: no ``COUNT`` over the whole list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from config.api import ApiError

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_OFFSET = 2**62  # past any list; databases cannot take bigger numbers

T = TypeVar("T")


@dataclass(frozen=True)
class Window:
    limit: int
    offset: int


def _integer(request: HttpRequest, name: str, default: int) -> int:
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default
    text = raw.strip()
    if not text.lstrip("-").isdigit() or len(text) > 30:
        raise ApiError(400, "invalid", "The request is not valid.",
                       {name: ["Must be a whole number."]})
    return int(text)


def window_of(
    request: HttpRequest, *, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT
) -> Window:
    """The ``limit`` and ``offset`` asked for; out of range: a 400 naming the field."""
    limit = _integer(request, "limit", default)
    offset = _integer(request, "offset", 0)
    if limit < 1 or limit > maximum:
        raise ApiError(400, "invalid", "The request is not valid.",
                       {"limit": [f"Use 1 to {maximum}."]})
    if offset < 0:
        raise ApiError(400, "invalid", "The request is not valid.",
                       {"offset": ["Must be 0 or more."]})
    return Window(limit, offset)


def page_url(request: HttpRequest, **params: Any) -> str:
    """This request's absolute URL with some query parameters replaced."""
    query = request.GET.copy()
    for name, value in params.items():
        query[name] = str(value)
    encoded = urlencode(sorted(query.lists()), doseq=True)
    return f"{settings.BEACON_BASE_URL}{request.path}?{encoded}"


def link_next(response: HttpResponse, url: str) -> None:
    response["Link"] = f'<{url}>; rel="next"'


def paginate(
    request: HttpRequest,
    response: HttpResponse,
    items: QuerySet[Any] | Sequence[T],
    *,
    default: int = DEFAULT_LIMIT,
    maximum: int = MAX_LIMIT,
) -> list[Any]:
    """One page of ``items`` (already in a stable order); sets ``Link`` when more follow."""
    window = window_of(request, default=default, maximum=maximum)
    if window.offset > MAX_OFFSET:
        return []
    rows = list(items[window.offset:window.offset + window.limit + 1])
    if len(rows) > window.limit:
        link_next(response, page_url(request, offset=window.offset + window.limit,
                                     limit=window.limit))
        del rows[window.limit:]
    return rows
