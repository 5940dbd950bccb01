"""The one access helper: every view and API endpoint asks it for a team.

Outsiders (and anonymous users) get 404 — never a hint that another team's
object exists. Members whose role is too low get 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404

from teams.models import Membership, Team

Role = Membership.Role
RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2}


@dataclass(frozen=True)
class TeamAccess:
    team: Team
    role: str

    @property
    def can_write(self) -> bool:
        """Members and admins log runs, metrics, artifacts, aliases and links."""
        return RANK[Role(self.role)] >= RANK[Role.MEMBER]

    @property
    def can_manage(self) -> bool:
        """Admins manage settings, secrets, integrations and automations."""
        return self.role == Role.ADMIN


def get_team(user: Any, slug: str, need: str = Role.VIEWER) -> TeamAccess:
    """The team ``slug`` as seen by ``user``, requiring at least role ``need``.

    Raises ``Http404`` when the team does not exist or the user is not a member,
    ``PermissionDenied`` when the user's role is below ``need``."""
    if not getattr(user, "is_authenticated", False):
        raise Http404("No such team.")
    try:
        # get(), not first(): one row at most (unique per team and user), and first()
        # would sort by the model's ordering, joining the user table for its username.
        membership = Membership.objects.select_related("team").get(team__slug=slug, user=user)
    except Membership.DoesNotExist:
        raise Http404("No such team.") from None
    if RANK[Role(membership.role)] < RANK[Role(need)]:
        raise PermissionDenied(f"This needs the {Role(need).label.lower()} role in this team.")
    return TeamAccess(team=membership.team, role=membership.role)


def teams_of(user: Any) -> list[TeamAccess]:
    if not getattr(user, "is_authenticated", False):
        return []
    return [
        TeamAccess(team=m.team, role=m.role)
        for m in Membership.objects.select_related("team").filter(user=user).order_by("team__slug")
    ]
