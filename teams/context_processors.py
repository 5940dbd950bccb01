from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from teams.access import teams_of


def teams(request: HttpRequest) -> dict[str, Any]:
    """The signed-in user's teams, for the team switcher in the layout."""
    return {"my_teams": teams_of(request.user)}
