"""Login lockout (django-axes): the authentication backend and the locked-out page.

After ``BEACON_LOGIN_FAILURE_LIMIT`` failed logins for one username from one
address, that pair is locked out for ``BEACON_LOGIN_COOLOFF_MINUTES``: the login
page (and the admin's) answers 429 with ``Retry-After`` and says so, and even the
right password is refused until the cool-off ends.
"""

from __future__ import annotations

import math
from typing import Any

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


class LoginLockoutBackend(AxesStandaloneBackend):
    """django-axes' backend for HTTP logins. An ``authenticate()`` without a request
    (management commands, the test client's ``login``) is no login attempt over
    HTTP: it is left to the next backend instead of being an error."""

    def authenticate(  # type: ignore[override]
        self, request: HttpRequest | None, username: str | None = None,
        password: str | None = None, **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def cooloff_minutes() -> int:
    return max(1, math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60))


def locked_out(
    request: HttpRequest, response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """The login page again, saying the account is locked for a while (429)."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    form = AuthenticationForm(request, initial={"username": username})
    page = render(
        request,
        "registration/login.html",
        {"form": form, "locked_out": True, "cooloff_minutes": cooloff_minutes(),
         "next": request.POST.get("next", request.GET.get("next", "")),
         "action": request.path},
        status=429,
    )
    page["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return page
