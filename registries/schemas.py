"""API bodies of the registry scope: registries, links and aliases."""

from __future__ import annotations

from typing import Annotated

from ninja import Schema
from pydantic import Field

from projects.schemas import Alias
from teams.schemas import Name


class RegistryIn(Schema):
    name: Name
    description: Annotated[str, Field(strict=True, max_length=2000)] = ""


class LinkIn(Schema):
    artifact: Annotated[str, Field(strict=True, max_length=512)]
    aliases: list[Alias] = Field(default_factory=list, max_length=100)
