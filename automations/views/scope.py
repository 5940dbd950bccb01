"""Where an automation page lives: a project or a registry of a team, as seen by a user.

Every view resolves its team through ``teams.access.get_team`` here, so outsiders
get 404 and a role below ``need`` gets 403 before anything else happens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse

from automations.models import Automation, Execution, Scope
from projects.models import Project
from registries.models import Registry
from teams.access import Role, TeamAccess, get_team


@dataclass(frozen=True)
class ScopePage:
    access: TeamAccess
    scope_type: str
    obj: Project | Registry

    @property
    def team(self) -> Any:
        return self.access.team

    @property
    def is_project(self) -> bool:
        return self.scope_type == Scope.PROJECT

    @property
    def kind_label(self) -> str:
        return "project" if self.is_project else "registry"

    @property
    def kwargs(self) -> dict[str, str]:
        key = "project" if self.is_project else "registry"
        return {"slug": self.team.slug, key: self.obj.name}

    @property
    def list_url(self) -> str:
        name = "project_automations" if self.is_project else "registry_automations"
        return reverse(name, kwargs=self.kwargs)

    @property
    def history_url(self) -> str:
        name = "project_history" if self.is_project else "registry_history"
        return reverse(name, kwargs=self.kwargs)

    @property
    def new_url(self) -> str:
        return reverse("automation_new", kwargs=self.kwargs)

    def automations(self) -> QuerySet[Automation]:
        lookup = "project" if self.is_project else "registry"
        return Automation.objects.filter(team=self.team, **{lookup: self.obj})

    def executions(self) -> QuerySet[Execution]:
        lookup = "automation__project" if self.is_project else "automation__registry"
        return Execution.objects.filter(automation__team=self.team, **{lookup: self.obj})

    def breadcrumbs(self, *tail: tuple[str, str | None]) -> list[tuple[str, str | None]]:
        crumbs: list[tuple[str, str | None]] = [
            (self.team.name, self.team.get_absolute_url()),
            (self.obj.name, self.obj.get_absolute_url()),
            ("Automations", self.list_url if tail else None),
        ]
        return crumbs + list(tail)

    def context(self, **extra: Any) -> dict[str, Any]:
        return {
            "team": self.team,
            "access": self.access,
            "scope": self,
            "project": self.obj if self.is_project else None,
            "registry": None if self.is_project else self.obj,
            **extra,
        }


def scope_page(
    request: HttpRequest,
    slug: str,
    *,
    project: str | None = None,
    registry: str | None = None,
    need: str = Role.VIEWER,
) -> ScopePage:
    """The project or registry named in the URL, after the team access check."""
    access = get_team(request.user, slug, need=need)
    if project is not None:
        obj: Project | Registry = get_object_or_404(Project, team=access.team, name=project)
        return ScopePage(access, Scope.PROJECT, obj)
    obj = get_object_or_404(Registry, team=access.team, name=registry)
    return ScopePage(access, Scope.REGISTRY, obj)


def automation_page(
    request: HttpRequest, slug: str, pk: int, *, need: str = Role.VIEWER
) -> tuple[ScopePage, Automation]:
    """An automation of the team and the scope page it belongs to."""
    access = get_team(request.user, slug, need=need)
    automation = get_object_or_404(
        Automation.objects.select_related("team", "project", "registry", "integration"),
        team=access.team,
        pk=pk,
    )
    return ScopePage(access, automation.scope_type, automation.scope), automation


def execution_page(
    request: HttpRequest, slug: str, pk: int, *, need: str = Role.VIEWER
) -> tuple[ScopePage, Execution]:
    access = get_team(request.user, slug, need=need)
    execution = get_object_or_404(
        Execution.objects.select_related(
            "automation__team",
            "automation__project",
            "automation__registry",
            "automation__integration",
            "event",
            "redelivery_of",
        ),
        automation__team=access.team,
        pk=pk,
    )
    automation = execution.automation
    return ScopePage(access, automation.scope_type, automation.scope), execution
