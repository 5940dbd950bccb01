"""Forms of the registry pages: create a registry, link a version, add an alias, tag a
linked version or a collection, unlink a version."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from projects.forms import clean_alias_value, clean_tag_value
from projects.models import ArtifactVersion
from registries.models import Collection, LinkedVersion, Registry
from teams.models import Team, name_validator


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


class SourceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ArtifactVersion) -> str:  # type: ignore[override]
        aliases = ", ".join(a.alias for a in obj.aliases.all())
        ref = f"{obj.artifact.project.name}/{obj.artifact.name}:{obj.version}"
        return f"{ref} ({aliases})" if aliases else ref


class LinkForm(forms.Form):
    """Link a project artifact version of the team into a collection of the registry."""

    source = SourceChoiceField(
        queryset=ArtifactVersion.objects.none(), label="Artifact version", empty_label=None
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
        self.fields["source"].queryset = (  # type: ignore[attr-defined]
            ArtifactVersion.objects.filter(artifact__project__team_id=registry.team_id)
            .select_related("artifact__project")
            .prefetch_related("aliases")
            .order_by("artifact__project__name", "artifact__name", "-index")
        )

    def clean_aliases(self) -> list[str]:
        raw = [a for a in re.split(r"[,\s]+", self.cleaned_data["aliases"]) if a]
        return list(dict.fromkeys(clean_alias_value(a) for a in raw))


class LinkedChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: LinkedVersion) -> str:  # type: ignore[override]
        return f"{obj.collection.name}:{obj.version}"


class LinkedAliasForm(forms.Form):
    linked = LinkedChoiceField(
        queryset=LinkedVersion.objects.none(), label="Linked version", empty_label=None
    )
    alias = forms.CharField(max_length=128, help_text="e.g. production, staging")

    def __init__(self, *args: Any, registry: Registry, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["linked"].queryset = (  # type: ignore[attr-defined]
            LinkedVersion.objects.filter(collection__registry=registry)
            .select_related("collection")
            .order_by("collection__name", "-index")
        )

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

    collection = forms.ModelChoiceField(
        queryset=Collection.objects.none(), label="Collection", empty_label=None
    )
    tag = forms.CharField(max_length=128, help_text="e.g. vision, production-line")

    def __init__(self, *args: Any, registry: Registry, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["collection"].queryset = (  # type: ignore[attr-defined]
            registry.collections.select_related("registry__team").order_by("name")
        )

    def clean_tag(self) -> str:
        return clean_tag_value(self.cleaned_data["tag"])


class UnlinkForm(LinkedAliasForm):
    """Unlink one version from its collection."""

    alias = None  # type: ignore[assignment]
