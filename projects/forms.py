"""Forms of the project pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django import forms
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import QuerySet

from projects.models import VERSION_RE, Artifact, ArtifactVersion, validate_alias, validate_tag
from teams.widgets import SUGGESTED, picker, picker_field


def clean_alias_value(value: str) -> str:
    alias = value.strip()
    try:
        validate_alias(alias)
    except ValueError as exc:
        raise forms.ValidationError(str(exc)) from exc
    return alias


def find_version(artifact: Artifact, text: str) -> ArtifactVersion | None:
    """``v3``, an alias, or a bare ``3`` (the index these forms posted when they were
    selects) → that version of ``artifact``; ``None`` when there is none."""
    try:
        return artifact.resolve(text)
    except ObjectDoesNotExist:
        pass
    if VERSION_RE.match(f"v{text}"):
        return artifact.versions.filter(index=int(text)).first()
    return None


def with_aliases(rows: QuerySet[Any], ref: Callable[[Any], str]) -> Iterator[tuple[str, str]]:
    """A picker's suggestions: the first ``SUGGESTED`` of ``rows`` (newest first), each
    as its ``ref`` labelled with its aliases (``""`` when it has none: the ref alone)."""
    for row in rows.prefetch_related("aliases")[:SUGGESTED]:
        text = ref(row)
        aliases = [a.alias for a in row.aliases.all()]
        yield text, f"{text} · {', '.join(aliases)}" if aliases else ""


def newest_versions(artifact: Artifact) -> Iterator[tuple[str, str]]:
    """The picker's suggestions: the newest versions, labelled with their aliases."""
    return with_aliases(artifact.versions.order_by("-index"), lambda v: v.version)


class AliasForm(forms.Form):
    """Add (or move) an alias to one version of an artifact."""

    version = picker_field("Version", "v3, or an alias.")
    alias = forms.CharField(max_length=128, help_text="e.g. production, staging, best")

    def __init__(self, *args: Any, artifact: Artifact, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.artifact = artifact
        picker(self, "version").offer(lambda: newest_versions(artifact))

    def clean_alias(self) -> str:
        return clean_alias_value(self.cleaned_data["alias"])

    def clean_version(self) -> ArtifactVersion:
        text = self.cleaned_data["version"]
        version = find_version(self.artifact, text)
        if version is None:
            suggestions = picker(self, "version").suggestions
            newest = f" (the newest is {suggestions[0][0]})" if suggestions else ""
            raise forms.ValidationError(
                f"{self.artifact.name} has no version or alias “{text}”{newest}."
            )
        return version


def clean_tag_value(value: str) -> str:
    tag = value.strip()
    try:
        validate_tag(tag)
    except ValueError as exc:
        raise forms.ValidationError(str(exc)) from exc
    return tag


class TagForm(AliasForm):
    """Add a tag to (or remove one from) one version of an artifact."""

    alias = None  # type: ignore[assignment]
    tag = forms.CharField(max_length=128, help_text="e.g. validated, candidate")

    def clean_tag(self) -> str:
        return clean_tag_value(self.cleaned_data["tag"])
