"""Registries: collections of linked artifact versions with their own numbering and aliases."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone

from projects.models import (
    VERSION_RE,
    ArtifactVersion,
    Source,
    TaggedMixin,
    move_alias,
    source_field,
    validate_alias,
)
from teams.models import Team, name_validator


class Registry(models.Model):
    team = models.ForeignKey(Team, models.CASCADE, related_name="registries")
    name = models.CharField(max_length=128, validators=[name_validator])
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="registry_unique_team_name")
        ]
        ordering = ["name"]
        verbose_name_plural = "registries"

    def __str__(self) -> str:
        return f"{self.team.slug}/{self.name}"

    def get_absolute_url(self) -> str:
        return reverse("registry_detail", args=[self.team.slug, self.name])

    def link(
        self,
        collection_name: str,
        source: ArtifactVersion,
        *,
        aliases: list[str],
        author: Any,
        via: str = Source.API,
    ) -> LinkedVersion:
        """Link ``source`` into a collection (created on first link) as its next version.

        Emits ``LINK_ARTIFACT``, then ``ADD_ARTIFACT_ALIAS`` per alias."""
        for alias in aliases:
            validate_alias(alias)
        with transaction.atomic():
            collection, _ = Collection.objects.get_or_create(registry=self, name=collection_name)
            collection = Collection.objects.select_for_update().get(pk=collection.pk)
            newest = collection.versions.order_by("-index").first()
            # ``next_index`` remembers unlinked numbers: a number is never reused.
            index = max(collection.next_index, 0 if newest is None else newest.index + 1)
            collection.next_index = index + 1
            collection.save(update_fields=["next_index"])
            linked = LinkedVersion.objects.create(
                collection=collection,
                index=index,
                source=source,
                author=author if getattr(author, "is_authenticated", False) else None,
                via=via,
            )
            from automations.emit import emit_event
            from automations.subjects import linked_data, version_data

            emit_event(
                "LINK_ARTIFACT",
                self,
                subject=linked.ref,
                subject_url=self.get_absolute_url(),
                author=author,
                data={
                    "collection": collection.name,
                    "linked": linked_data(linked),
                    "artifact": version_data(source),
                },
            )
            for alias in aliases:
                linked.add_alias(alias, author)
        return linked


class Collection(TaggedMixin, models.Model):
    tag_events = ("ADD_COLLECTION_TAG", "REMOVE_COLLECTION_TAG")

    registry = models.ForeignKey(Registry, models.CASCADE, related_name="collections")
    name = models.CharField(max_length=128, validators=[name_validator])
    tags = models.JSONField(default=list, blank=True)
    # The index the next linked version gets (unlinked numbers are never reused).
    next_index = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["registry", "name"], name="collection_unique_registry_name"
            )
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.registry}/{self.name}"

    @property
    def ref(self) -> str:
        return f"{self.registry.team.slug}/{self.registry.name}/{self.name}"

    def _emit_tag_event(self, event: str, tag: str, author: Any) -> None:
        from automations.emit import emit_event
        from automations.subjects import collection_data

        emit_event(
            event,
            self.registry,
            subject=f"{self.ref} #{tag}",
            subject_url=self.registry.get_absolute_url(),
            author=author,
            data={
                "collection": self.name,
                "collection_info": collection_data(self),
                "tag": tag,
            },
        )

    def remove_alias(self, alias: str) -> bool:
        """Drop ``alias`` from whichever version it names; False when there was none."""
        deleted, _ = self.aliases.filter(alias=alias).delete()
        return deleted > 0

    def resolve(self, version_or_alias: str) -> LinkedVersion:
        """``v1`` or an alias → the linked version (``LinkedVersion.DoesNotExist`` otherwise)."""
        if VERSION_RE.match(version_or_alias):
            return self.versions.get(index=int(version_or_alias[1:]))
        return self.aliases.select_related("version").get(alias=version_or_alias).version


class LinkedVersion(TaggedMixin, models.Model):
    """A project artifact version linked into a collection, numbered ``v<index>`` there."""

    tag_events = ("ADD_ARTIFACT_TAG", "REMOVE_ARTIFACT_TAG")  # registry scope

    collection = models.ForeignKey(Collection, models.CASCADE, related_name="versions")
    index = models.PositiveIntegerField()
    source = models.ForeignKey(ArtifactVersion, models.PROTECT, related_name="links")
    tags = models.JSONField(default=list, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Which protocol made the link ("source" already names the linked artifact version).
    via = source_field()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["collection", "index"], name="linkedversion_unique_index"
            )
        ]
        ordering = ["collection", "-index"]

    def __str__(self) -> str:
        return self.ref

    @property
    def version(self) -> str:
        return f"v{self.index}"

    @property
    def ref(self) -> str:
        r = self.collection.registry
        return f"{r.team.slug}/{r.name}/{self.collection.name}:{self.version}"

    def alias_names(self) -> list[str]:
        return sorted(a.alias for a in self.aliases.all())

    def add_alias(self, alias: str, user: Any) -> bool:
        """Point ``alias`` at this linked version, moving it within the collection.

        Emits ``ADD_ARTIFACT_ALIAS`` (registry scope) unless nothing changed."""
        with transaction.atomic():
            if not move_alias(LinkedAlias, {"collection_id": self.collection_id}, self, alias):
                return False
            from automations.emit import emit_event
            from automations.subjects import linked_data, version_data

            registry = self.collection.registry
            emit_event(
                "ADD_ARTIFACT_ALIAS",
                registry,
                subject=f"{self.ref} @{alias}",
                subject_url=registry.get_absolute_url(),
                author=user,
                data={
                    "collection": self.collection.name,
                    "linked": linked_data(self),
                    "artifact": version_data(self.source),
                    "alias": alias,
                },
            )
        return True

    def _emit_tag_event(self, event: str, tag: str, author: Any) -> None:
        self._emit(event, author, subject=f"{self.ref} #{tag}", extra={"tag": tag})

    def unlink(self, author: Any = None) -> bool:
        """Remove this version from its collection; emits ``UNLINK_ARTIFACT``.

        The collection's ``next_index`` already lies past this number, so it is
        never given to another version. The source artifact version stays.
        Returns False (and emits nothing) when it was unlinked meanwhile."""
        with transaction.atomic():
            collection = Collection.objects.select_for_update().get(pk=self.collection_id)
            if not LinkedVersion.objects.filter(pk=self.pk).exists():
                return False  # a concurrent request unlinked it first
            if collection.next_index <= self.index:  # links made before next_index existed
                collection.next_index = self.index + 1
                collection.save(update_fields=["next_index"])
            self._emit("UNLINK_ARTIFACT", author, subject=self.ref, extra={})
            self.delete()
        return True

    def _emit(self, type: str, author: Any, *, subject: str, extra: dict[str, Any]) -> None:
        from automations.emit import emit_event
        from automations.subjects import linked_data, version_data

        registry = self.collection.registry
        emit_event(
            type,
            registry,
            subject=subject,
            subject_url=registry.get_absolute_url(),
            author=author,
            data={
                "collection": self.collection.name,
                "linked": linked_data(self),
                "artifact": version_data(self.source),
                **extra,
            },
        )


class LinkedAlias(models.Model):
    """An alias names at most one linked version of a collection at a time."""

    collection = models.ForeignKey(Collection, models.CASCADE, related_name="aliases")
    version = models.ForeignKey(LinkedVersion, models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["collection", "alias"], name="linkedalias_unique")
        ]
        ordering = ["alias"]

    def __str__(self) -> str:
        return self.alias
