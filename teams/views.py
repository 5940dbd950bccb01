"""Pages of the signed-in user: home, account (API keys), team home and Team Settings."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Model, OuterRef, ProtectedError, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from automations.integration_health import set_enabled
from automations.models import Event
from projects.models import Artifact, Run
from registries.models import Collection
from teams.access import Role, TeamAccess, get_team, teams_of
from teams.forms import (
    INTEGRATION_FORMS,
    AddMemberForm,
    ApiKeyForm,
    RoleForm,
    RotateSecretForm,
    SecretForm,
    is_last_admin,
)
from teams.models import ApiKey, Integration, Membership, Secret


@login_required
def home(request: HttpRequest) -> HttpResponse:
    mine = teams_of(request.user)
    if mine:
        return redirect("team_home", mine[0].team.slug)
    return render(request, "teams/no_team.html", {"breadcrumbs": [("Home", None)]})


@login_required
def account(request: HttpRequest) -> HttpResponse:
    new_key = ""
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _, new_key = ApiKey.issue(request.user, form.cleaned_data["name"])
        messages.success(request, "API key created. Copy it now: it is shown only once.")
        form = ApiKeyForm()
    keys = ApiKey.objects.filter(user=request.user)
    return render(
        request,
        "teams/account.html",
        {
            "form": form,
            "new_key": new_key,
            "keys": keys,
            "breadcrumbs": [("Account", None)],
        },
    )


@login_required
@require_POST
def revoke_api_key(request: HttpRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(ApiKey, pk=pk, user=request.user)
    if key.revoked_at is None:
        key.revoke()
        messages.success(request, f"Key {key.prefix}… revoked; it no longer works.")
    return redirect("account")


def _team_context(access: TeamAccess, *crumbs: tuple[str, str | None]) -> dict[str, Any]:
    team = access.team
    return {
        "team": team,
        "access": access,
        "breadcrumbs": [(team.name, team.get_absolute_url()), *crumbs],
    }


PER_PAGE = 50


def count_of(model: type[Model], field: str) -> Coalesce:
    """How many ``model`` rows point at the outer row by ``field``: a correlated subquery
    per shown row (no join of every run with every artifact)."""
    counted = (
        model.objects.filter(**{field: OuterRef("pk")})
        .order_by().values(field).annotate(n=Count("pk")).values("n")
    )
    return Coalesce(Subquery(counted), 0)


@login_required
def team_home(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_team(request.user, slug)
    team = access.team
    projects = team.projects.select_related("team").annotate(
        n_runs=count_of(Run, "project"), n_artifacts=count_of(Artifact, "project")
    ).order_by("name", "id")
    registries = team.registries.select_related("team").annotate(
        n_collections=count_of(Collection, "registry")
    ).order_by("name", "id")
    projects = Paginator(projects, PER_PAGE).get_page(request.GET.get("projects_page"))
    registries = Paginator(registries, PER_PAGE).get_page(request.GET.get("registries_page"))
    events = Event.objects.filter(team=team).select_related("project", "registry").order_by(
        "-created_at", "-id"
    )[:15]
    ctx = _team_context(access)
    ctx["breadcrumbs"] = [(team.name, None)]
    ctx.update({"projects": projects, "registries": registries, "events": events})
    return render(request, "teams/team_home.html", ctx)


# Team Settings — admins only.


def _settings_context(access: TeamAccess, tab: str, **extra: Any) -> dict[str, Any]:
    ctx = _team_context(access, ("Settings", None))
    ctx["tab"] = tab
    ctx.update(extra)
    return ctx


@login_required
def team_settings(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_team(request.user, slug, need=Role.ADMIN)
    form = AddMemberForm(request.POST or None, team=access.team)
    if request.method == "POST" and form.is_valid():
        user = form.cleaned_data["username"]
        Membership.objects.create(team=access.team, user=user, role=form.cleaned_data["role"])
        messages.success(request, f"{user.username} joined as {form.cleaned_data['role']}.")
        return redirect("team_settings", slug)
    members = Paginator(
        access.team.memberships.select_related("user").order_by("user__username", "id"), PER_PAGE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "teams/settings_members.html",
        _settings_context(
            access, "members", form=form, members=members, roles=Membership.Role.choices
        ),
    )


@login_required
@require_POST
def member_role(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access = get_team(request.user, slug, need=Role.ADMIN)
    membership = get_object_or_404(Membership, pk=pk, team=access.team)
    form = RoleForm(request.POST, membership=membership)
    if form.is_valid():
        membership.role = form.cleaned_data["role"]
        membership.save(update_fields=["role"])
        messages.success(request, f"{membership.user.username} is now {membership.role}.")
    else:
        messages.error(request, " ".join(form.errors.get("role", ["Choose a role."])))
    return redirect("team_settings", slug)


@login_required
@require_POST
def member_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access = get_team(request.user, slug, need=Role.ADMIN)
    membership = get_object_or_404(Membership, pk=pk, team=access.team)
    if is_last_admin(membership):
        messages.error(request, "A team needs at least one admin; promote someone first.")
        return redirect("team_settings", slug)
    membership.delete()
    messages.success(request, f"{membership.user.username} was removed from the team.")
    if membership.user_id == request.user.pk:
        return redirect("home")
    return redirect("team_settings", slug)


@login_required
def settings_secrets(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_team(request.user, slug, need=Role.ADMIN)
    form = SecretForm(request.POST or None, team=access.team)
    if request.method == "POST" and form.is_valid():
        Secret.objects.create(
            team=access.team, name=form.cleaned_data["name"], value=form.cleaned_data["value"]
        )
        messages.success(request, f"Secret {form.cleaned_data['name']} saved.")
        return redirect("settings_secrets", slug)
    secrets = Paginator(
        access.team.secrets.only("name", "created_at", "updated_at", "team_id").order_by(
            "name", "id"
        ),
        PER_PAGE,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "teams/settings_secrets.html",
        _settings_context(access, "secrets", form=form, secrets=secrets),
    )


@login_required
@require_POST
def secret_rotate(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access = get_team(request.user, slug, need=Role.ADMIN)
    secret = get_object_or_404(Secret, pk=pk, team=access.team)
    form = RotateSecretForm(request.POST)
    if form.is_valid():
        secret.rotate(form.cleaned_data["value"])
        messages.success(request, f"Secret {secret.name} rotated.")
    else:
        messages.error(request, f"Enter the new value of {secret.name} to rotate it.")
    return redirect("settings_secrets", slug)


@login_required
@require_POST
def secret_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access = get_team(request.user, slug, need=Role.ADMIN)
    secret = get_object_or_404(Secret, pk=pk, team=access.team)
    users = secret.used_by()
    if users:
        names = ", ".join(i.name for i in users)
        messages.error(request, f"{secret.name} is used by {names}; detach it there first.")
        return redirect("settings_secrets", slug)
    secret.delete()
    messages.success(request, f"Secret {secret.name} deleted.")
    return redirect("settings_secrets", slug)


@login_required
def settings_integrations(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_team(request.user, slug, need=Role.ADMIN)
    integrations = Paginator(
        access.team.integrations.select_related(
            "webhook_url_secret", "bot_token_secret", "access_token_secret", "payload_secret"
        ).order_by("name", "id"),
        PER_PAGE,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "teams/settings_integrations.html",
        _settings_context(access, "integrations", integrations=integrations),
    )


def _integration_page(
    request: HttpRequest, access: TeamAccess, form: Any, integration: Integration | None,
    kind: str, revealed: str = "",
) -> HttpResponse:
    label = Integration.Kind(kind).label
    title = f"Edit {integration.name}" if integration else f"New {label} integration"
    ctx = _settings_context(
        access, "integrations", form=form, integration=integration, kind=kind,
        title=title, revealed=revealed,
    )
    ctx["breadcrumbs"] = [
        *ctx["breadcrumbs"][:-1],
        ("Settings", reverse("settings_integrations", args=[access.team.slug])),
        (title, None),
    ]
    return render(request, "teams/integration_form.html", ctx)


@login_required
def integration_new(request: HttpRequest, slug: str, kind: str) -> HttpResponse:
    access = get_team(request.user, slug, need=Role.ADMIN)
    form_class = INTEGRATION_FORMS.get(kind)
    if form_class is None:
        return redirect("settings_integrations", slug)
    form = form_class(request.POST or None, team=access.team)
    if request.method == "POST" and form.is_valid():
        integration = form.save()
        messages.success(request, f"Integration {integration.name} created.")
        return redirect("settings_integrations", slug)
    return _integration_page(request, access, form, None, kind)


@login_required
def integration_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access = get_team(request.user, slug, need=Role.ADMIN)
    integration = get_object_or_404(Integration, pk=pk, team=access.team)
    form = INTEGRATION_FORMS[integration.kind](
        request.POST or None, instance=integration, team=access.team
    )
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Integration {integration.name} saved.")
        return redirect("settings_integrations", slug)
    return _integration_page(request, access, form, integration, integration.kind)


@login_required
@require_POST
def integration_reveal(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Show a webhook's signing secret to an admin who asked for it (never by default)."""
    access = get_team(request.user, slug, need=Role.ADMIN)
    integration = get_object_or_404(
        Integration, pk=pk, team=access.team, kind=Integration.Kind.WEBHOOK
    )
    form = INTEGRATION_FORMS[integration.kind](instance=integration, team=access.team)
    return _integration_page(
        request, access, form, integration, integration.kind, revealed=integration.signing_secret
    )


@login_required
@require_POST
def integration_enable(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Re-enable an integration Beacon disabled (admins): its automations act again."""
    access = get_team(request.user, slug, need=Role.ADMIN)
    integration = get_object_or_404(Integration, pk=pk, team=access.team)
    if not integration.enabled:
        set_enabled(integration, True, request.user)
        messages.success(
            request, f"Integration {integration.name} re-enabled; its automations act again."
        )
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return redirect(target)
    return redirect("settings_integrations", slug)


@login_required
@require_POST
def integration_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access = get_team(request.user, slug, need=Role.ADMIN)
    integration = get_object_or_404(Integration, pk=pk, team=access.team)
    try:
        integration.delete()
    except ProtectedError:
        names = ", ".join(sorted(a.name for a in integration.automations.all()))
        messages.error(
            request, f"{integration.name} is used by automations ({names}); change them first."
        )
        return redirect("settings_integrations", slug)
    messages.success(request, f"Integration {integration.name} deleted.")
    return redirect("settings_integrations", slug)
