"""Registry pages: collections with linked versions; link and alias from the page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, OuterRef, Prefetch, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from projects.views import change_tag
from registries.forms import (
    CollectionTagForm,
    LinkedAliasForm,
    LinkedTagForm,
    LinkForm,
    RegistryForm,
    UnlinkForm,
)
from registries.models import LinkedVersion, Registry
from teams.access import Role, TeamAccess, get_team

COLLECTIONS_PER_PAGE = 20
VERSIONS_SHOWN = 20  # newest versions shown per collection; the API pages through all


def _registry(
    request: HttpRequest, slug: str, name: str, need: str = Role.VIEWER
) -> tuple[TeamAccess, Registry]:
    access = get_team(request.user, slug, need=need)
    return access, get_object_or_404(Registry, team=access.team, name=name)


def _registry_page(
    request: HttpRequest,
    access: TeamAccess,
    registry: Registry,
    *,
    link_form: LinkForm | None = None,
    alias_form: LinkedAliasForm | None = None,
    version_tag_form: LinkedTagForm | None = None,
    collection_tag_form: CollectionTagForm | None = None,
    status: int = 200,
) -> HttpResponse:
    versions = LinkedVersion.objects.select_related(
        "author", "source__artifact__project__team", "mlflow_version"
    ).prefetch_related("aliases")
    counts = (
        LinkedVersion.objects.filter(collection=OuterRef("pk"))
        .order_by().values("collection").annotate(n=Count("pk")).values("n")
    )
    collections = Paginator(
        registry.collections.annotate(n_versions=Coalesce(Subquery(counts), 0))
        .prefetch_related(
            # The newest versions of each collection only (one windowed query for the page).
            Prefetch(
                "versions",
                queryset=versions.order_by("-index")[:VERSIONS_SHOWN],
                to_attr="newest_versions",
            )
        ).order_by("name", "id"),
        COLLECTIONS_PER_PAGE,
    ).get_page(request.GET.get("page"))
    team = access.team
    ctx: dict[str, Any] = {
        "team": team,
        "access": access,
        "registry": registry,
        "tab": "collections",
        "collections": collections,
        "link_form": link_form or LinkForm(registry=registry),
        "alias_form": alias_form or LinkedAliasForm(registry=registry),
        "version_tag_form": version_tag_form or LinkedTagForm(registry=registry, prefix="vt"),
        "collection_tag_form": collection_tag_form
        or CollectionTagForm(registry=registry, prefix="ct"),
        "breadcrumbs": [(team.name, team.get_absolute_url()), (registry.name, None)],
    }
    return render(request, "registries/registry_detail.html", ctx, status=status)


@login_required
def registry_detail(request: HttpRequest, slug: str, registry: str) -> HttpResponse:
    access, reg = _registry(request, slug, registry)
    return _registry_page(request, access, reg)


@login_required
@require_POST
def registry_link(request: HttpRequest, slug: str, registry: str) -> HttpResponse:
    access, reg = _registry(request, slug, registry, need=Role.MEMBER)
    form = LinkForm(request.POST, registry=reg)
    if not form.is_valid():
        return _registry_page(request, access, reg, link_form=form, status=400)
    linked = reg.link(
        form.cleaned_data["collection"],
        form.cleaned_data["source"],
        aliases=form.cleaned_data["aliases"],
        author=request.user,
    )
    messages.success(request, f"Linked {linked.source.ref} as {linked.ref}.")
    return redirect(reg.get_absolute_url())


@login_required
@require_POST
def registry_alias(request: HttpRequest, slug: str, registry: str) -> HttpResponse:
    access, reg = _registry(request, slug, registry, need=Role.MEMBER)
    form = LinkedAliasForm(request.POST, registry=reg)
    if not form.is_valid():
        return _registry_page(request, access, reg, alias_form=form, status=400)
    linked, alias = form.cleaned_data["linked"], form.cleaned_data["alias"]
    where = f"{linked.collection.name}:{linked.version}"
    if linked.add_alias(alias, request.user):
        messages.success(request, f"{alias} now points at {where}.")
    else:
        messages.info(request, f"{alias} already pointed at {where}.")
    return redirect(reg.get_absolute_url())


@login_required
@require_POST
def registry_version_tag(
    request: HttpRequest, slug: str, registry: str, action: str
) -> HttpResponse:
    """Add (``action`` "add") or remove ("remove") a tag of a linked version."""
    access, reg = _registry(request, slug, registry, need=Role.MEMBER)
    form = LinkedTagForm(request.POST, registry=reg, prefix="vt")
    if not form.is_valid():
        return _registry_page(request, access, reg, version_tag_form=form, status=400)
    linked, tag = form.cleaned_data["linked"], form.cleaned_data["tag"]
    change_tag(request, linked, tag, f"{linked.collection.name}:{linked.version}", action)
    return redirect(reg.get_absolute_url())


@login_required
@require_POST
def registry_collection_tag(
    request: HttpRequest, slug: str, registry: str, action: str
) -> HttpResponse:
    """Add (``action`` "add") or remove ("remove") a tag of a collection."""
    access, reg = _registry(request, slug, registry, need=Role.MEMBER)
    form = CollectionTagForm(request.POST, registry=reg, prefix="ct")
    if not form.is_valid():
        return _registry_page(request, access, reg, collection_tag_form=form, status=400)
    collection, tag = form.cleaned_data["collection"], form.cleaned_data["tag"]
    change_tag(request, collection, tag, f"collection {collection.name}", action)
    return redirect(reg.get_absolute_url())


@login_required
@require_POST
def registry_unlink(request: HttpRequest, slug: str, registry: str) -> HttpResponse:
    access, reg = _registry(request, slug, registry, need=Role.MEMBER)
    form = UnlinkForm(request.POST, registry=reg, prefix="unlink")
    if not form.is_valid():
        messages.error(request, "That version is no longer linked.")
        return redirect(reg.get_absolute_url())
    linked = form.cleaned_data["linked"]
    ref = linked.ref
    if linked.unlink(request.user):
        messages.success(request, f"Unlinked {ref}; its number is not reused.")
    else:
        messages.info(request, f"{ref} was already unlinked.")
    return redirect(reg.get_absolute_url())


@login_required
def registry_create(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_team(request.user, slug, need=Role.ADMIN)
    form = RegistryForm(request.POST or None, team=access.team)
    if request.method == "POST" and form.is_valid():
        reg = Registry.objects.create(
            team=access.team,
            name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
        )
        messages.success(request, f"Registry {reg.name} created.")
        return redirect(reg.get_absolute_url())
    team = access.team
    ctx = {
        "team": team,
        "access": access,
        "form": form,
        "breadcrumbs": [(team.name, team.get_absolute_url()), ("New registry", None)],
    }
    return render(
        request, "registries/registry_form.html", ctx, status=400 if form.errors else 200
    )


