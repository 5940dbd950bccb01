"""Forms of the registry pages: create a registry, link a version, add an alias, tag a
linked version or a collection, unlink a version."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from django import forms

from projects.forms import clean_alias_value, clean_tag_value, with_aliases
from projects.models import ArtifactVersion
from registries.models import Collection, LinkedVersion, Registry
from registries.refs import find_linked, find_source
from teams.models import Team, name_validator
from teams.widgets import SUGGESTED, picker, picker_field

# What these forms posted when they were selects (a row's id); still accepted, so
# that a page opened before the change, or a script, keeps working.
LEGACY_ID_RE = re.compile(r"^[0-9]{1,18}$")


class RegistryForm(forms.Form):
    name = forms.CharField(max_length=128, validators=[name_validator], help_text="e.g. model")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.team = team

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if Registry.objects.filter(team=self.team, name=name).exists():
            raise forms.ValidationError(f"A registry named {name} exists already.")
        return name


def legacy_id(text: str) -> int | None:
    return int(text) if LEGACY_ID_RE.match(text) else None


def newest_sources(team_id: int) -> Iterator[tuple[str, str]]:
    """The team's newest artifact versions, as ``project/artifact:v3``."""
    versions = ArtifactVersion.objects.filter(artifact__project__team_id=team_id)
    return with_aliases(
        versions.select_related("artifact__project").order_by("-pk"),
        lambda v: f"{v.artifact.project.name}/{v.artifact.name}:{v.version}",
    )


def newest_links(registry: Registry) -> Iterator[tuple[str, str]]:
    """The registry's newest linked versions, as ``collection:v2``."""
    links = LinkedVersion.objects.filter(collection__registry=registry)
    return with_aliases(
        links.select_related("collection").order_by("-pk"),
        lambda lv: f"{lv.collection.name}:{lv.version}",
    )


def newest_collections(registry: Registry) -> Iterator[tuple[str, str]]:
    names = registry.collections.order_by("-pk").values_list("name", flat=True)[:SUGGESTED]
    return ((name, "") for name in names)


class LinkForm(forms.Form):
    """Link a project artifact version of the team into a collection of the registry."""

    source = picker_field(
        "Artifact version", "project/artifact:version of this team, or an alias instead "
        "of the version.", max_length=512,
    )
    collection = forms.CharField(
        max_length=128,
        validators=[name_validator],
        help_text="An existing collection, or a new one created by this link.",
    )
    aliases = forms.CharField(
        required=False, max_length=1000, help_text="Optional, separated by commas or spaces."
    )

    def __init__(self, *args: Any, registry: Registry, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.registry = registry
        picker(self, "source").offer(lambda: newest_sources(registry.team_id))

    def clean_source(self) -> ArtifactVersion:
        text = self.cleaned_data["source"]
        team = self.registry.team
        pk = legacy_id(text)
        if pk is not None:
            version = (
                ArtifactVersion.objects.select_related("artifact__project__team")
                .filter(artifact__project__team=team, pk=pk).first()
            )
        else:
            try:
                version = find_source(team, text)
            except ValueError as exc:
                raise forms.ValidationError(str(exc)) from None
        if version is None:
            raise forms.ValidationError(f"This team has no artifact version “{text}”.")
        return version

    def clean_aliases(self) -> list[str]:
        raw = [a for a in re.split(r"[,\s]+", self.cleaned_data["aliases"]) if a]
        return list(dict.fromkeys(clean_alias_value(a) for a in raw))


class LinkedAliasForm(forms.Form):
    linked = picker_field(
        "Linked version", "collection:version, or an alias instead of the version.",
        max_length=512,
    )
    alias = forms.CharField(max_length=128, help_text="e.g. production, staging")

    def __init__(self, *args: Any, registry: Registry, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.registry = registry
        picker(self, "linked").offer(lambda: newest_links(registry))

    def clean_linked(self) -> LinkedVersion:
        text = self.cleaned_data["linked"]
        pk = legacy_id(text)
        if pk is not None:
            linked = (
                LinkedVersion.objects.select_related("collection")
                .filter(collection__registry=self.registry, pk=pk).first()
            )
        else:
            try:
                linked = find_linked(self.registry, text)
            except ValueError as exc:
                raise forms.ValidationError(str(exc)) from None
        if linked is None:
            raise forms.ValidationError(
                f"Registry {self.registry.name} has no linked version “{text}”."
            )
        return linked

    def clean_alias(self) -> str:
        return clean_alias_value(self.cleaned_data["alias"])


class LinkedTagForm(LinkedAliasForm):
    """Add a tag to (or remove one from) a linked version."""

    alias = None  # type: ignore[assignment]
    tag = forms.CharField(max_length=128, help_text="e.g. validated, candidate")

    def clean_tag(self) -> str:
        return clean_tag_value(self.cleaned_data["tag"])


class CollectionTagForm(forms.Form):
    """Add a tag to (or remove one from) a collection."""

    collection = picker_field("Collection", "Its name.")
    tag = forms.CharField(max_length=128, help_text="e.g. vision, production-line")

    def __init__(self, *args: Any, registry: Registry, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.registry = registry
        picker(self, "collection").offer(lambda: newest_collections(registry))

    def clean_collection(self) -> Collection:
        text = self.cleaned_data["collection"]
        collections = self.registry.collections.select_related("registry__team")
        # A name first: collections may be named "7"; a legacy id only when none is.
        collection = collections.filter(name=text).first()
        if collection is None and (pk := legacy_id(text)) is not None:
            collection = collections.filter(pk=pk).first()
        if collection is None:
            raise forms.ValidationError(
                f"Registry {self.registry.name} has no collection “{text}”."
            )
        return collection

    def clean_tag(self) -> str:
        return clean_tag_value(self.cleaned_data["tag"])


class UnlinkForm(LinkedAliasForm):
    """Unlink one version from its collection."""

    alias = None  # type: ignore[assignment]
