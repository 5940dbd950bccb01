"""Forms of the project pages."""

from __future__ import annotations

from typing import Any

from django import forms

from projects.models import Artifact, ArtifactVersion, validate_alias, validate_tag


def clean_alias_value(value: str) -> str:
    alias = value.strip()
    try:
        validate_alias(alias)
    except ValueError as exc:
        raise forms.ValidationError(str(exc)) from exc
    return alias


class AliasForm(forms.Form):
    """Add (or move) an alias to one version of an artifact."""

    version = forms.TypedChoiceField(coerce=int, label="Version")
    alias = forms.CharField(max_length=128, help_text="e.g. production, staging, best")

    def __init__(self, *args: Any, artifact: Artifact, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.artifact = artifact
        self.fields["version"].choices = [  # type: ignore[attr-defined]
            (v.index, v.version) for v in artifact.versions.order_by("-index")
        ]

    def clean_alias(self) -> str:
        return clean_alias_value(self.cleaned_data["alias"])

    def clean_version(self) -> ArtifactVersion:
        index = self.cleaned_data["version"]
        version = self.artifact.versions.filter(index=index).first()
        if version is None:
            raise forms.ValidationError("Choose a version of this artifact.")
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
