"""Projects: runs with metric history, and versioned artifacts with aliases."""

from __future__ import annotations

import math
import re
import secrets as pysecrets
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.urls import reverse
from django.utils import timezone

from teams.models import Team, name_validator

VERSION_RE = re.compile(r"^v(0|[1-9][0-9]{0,8})$")
ALIAS_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def validate_alias(alias: str) -> None:
    """Aliases follow the name rule and must not look like a version (``v3``)."""
    if not ALIAS_RE.match(alias):
        raise ValueError(
            "An alias is 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit."
        )
    if VERSION_RE.match(alias):
        raise ValueError(f"{alias!r} looks like a version; choose another alias.")


def move_alias(
    alias_model: type[models.Model], owner: dict[str, Any], version: models.Model, alias: str
) -> bool:
    """Point ``alias`` at ``version`` among one owner's aliases (an artifact's or a
    collection's), moving it from another version. Call inside a transaction.

    Returns False when the alias already named ``version`` (nothing changed)."""
    validate_alias(alias)
    aliases = alias_model.objects.select_for_update().filter(**owner, alias=alias)
    existing = aliases.first()
    if existing is None:
        try:
            with transaction.atomic():  # a savepoint, so a lost race leaves the caller's usable
                alias_model.objects.create(**owner, version=version, alias=alias)
            return True
        except IntegrityError:  # a concurrent request added the alias first: move it
            existing = aliases.get()
    if existing.version_id == version.pk:
        return False
    existing.version = version
    existing.created_at = timezone.now()
    existing.save(update_fields=["version", "created_at"])
    return True


class Project(models.Model):
    team = models.ForeignKey(Team, models.CASCADE, related_name="projects")
    name = models.CharField(max_length=128, validators=[name_validator])
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="project_unique_team_name")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.team.slug}/{self.name}"

    def get_absolute_url(self) -> str:
        return reverse("project_detail", args=[self.team.slug, self.name])

    @classmethod
    def get_or_create_for(cls, team: Team, name: str) -> Project:
        """Projects are created on first use (like ``wandb.init``)."""
        project, _ = cls.objects.get_or_create(team=team, name=name)
        return project


def generate_run_id() -> str:
    return pysecrets.token_hex(4)


class Run(models.Model):
    class State(models.TextChoices):
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Failed"
        CRASHED = "crashed", "Crashed"
        KILLED = "killed", "Killed"

    project = models.ForeignKey(Project, models.CASCADE, related_name="runs")
    run_id = models.CharField(max_length=128, validators=[name_validator])
    display_name = models.CharField(max_length=256, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="runs"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.RUNNING)
    config = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
    # Last value of every metric; non-finite values as "NaN" / "Infinity" / "-Infinity".
    summary = models.JSONField(default=dict, blank=True)
    last_step = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "run_id"], name="run_unique_project_id")
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """The display name, or the id when there is none."""
        return self.display_name or self.run_id

    def get_absolute_url(self) -> str:
        return reverse(
            "run_detail", args=[self.project.team.slug, self.project.name, self.run_id]
        )

    @property
    def ref(self) -> str:
        return f"{self.project}/{self.run_id}"

    @classmethod
    def start(
        cls,
        project: Project,
        *,
        author: Any,
        run_id: str | None = None,
        display_name: str = "",
        config: dict[str, Any] | None = None,
        tags: list[str] | None = None,
    ) -> Run:
        """Create a running run and emit ``RUN_STATE`` (state ``running``).

        Raises ``IntegrityError`` when ``run_id`` is taken in the project."""
        with transaction.atomic():
            run = cls.objects.create(
                project=project,
                run_id=run_id or generate_run_id(),
                display_name=display_name,
                author=author if getattr(author, "is_authenticated", False) else None,
                config=config or {},
                tags=tags or [],
            )
            run._emit_state(None, author)
        return run

    def set_state(self, state: str, user: Any, *, reason: str = "") -> bool:
        """Move the run to ``state``; emits ``RUN_STATE`` when the state changed
        (with ``reason`` in its data when given, e.g. why Beacon marked it crashed)."""
        if state not in self.State.values:
            raise ValueError(f"unknown run state {state!r}")
        if state == self.state:
            return False
        with transaction.atomic():
            previous = self.state
            self.state = state
            self.updated_at = timezone.now()
            self.save(update_fields=["state", "updated_at"])
            self._emit_state(previous, user, reason)
        return True

    def _emit_state(self, previous: str | None, user: Any, reason: str = "") -> None:
        from automations.emit import emit_event
        from automations.subjects import run_data

        emit_event(
            "RUN_STATE",
            self.project,
            subject=self.ref,
            subject_url=self.get_absolute_url(),
            author=user,
            data={
                "run": run_data(self),
                "state": self.state,
                "previous_state": previous,
                **({"reason": reason} if reason else {}),
            },
        )

    def log_history(self, rows: list[tuple[int, dict[str, float]]], user: Any) -> int:
        """Append metric rows ``(step, {name: value})``; emits one ``RUN_METRIC`` event.

        Steps must not go backwards within a run (``ValueError``); a row may
        repeat the last step (more metrics of the same step)."""
        if not rows:
            return 0
        last = self.last_step
        for step, _ in rows:
            if last is not None and step < last:
                raise ValueError(f"step {step} goes backwards (last step is {last})")
            last = step
        now = timezone.now()
        points = [
            MetricPoint(run=self, key=k, step=step, value=MetricPoint.to_db(v), created_at=now)
            for step, metrics in rows
            for k, v in metrics.items()
        ]
        summary = dict(self.summary)
        for _, metrics in rows:
            for k, v in metrics.items():
                summary[k] = encode_number(v)
        names = sorted({k for _, metrics in rows for k in metrics})
        with transaction.atomic():
            MetricPoint.objects.bulk_create(points, batch_size=2000)
            self.summary = summary
            self.last_step = last
            self.updated_at = now
            self.save(update_fields=["summary", "last_step", "updated_at"])
            if names:
                from automations.emit import emit_event
                from automations.subjects import run_data

                emit_event(
                    "RUN_METRIC",
                    self.project,
                    subject=self.ref,
                    subject_url=self.get_absolute_url(),
                    author=user,
                    data={
                        "run": run_data(self),
                        "metrics": names,
                        "first_step": rows[0][0],
                        "last_step": rows[-1][0],
                        "rows": len(rows),
                    },
                )
        return len(rows)

    def history(self, key: str) -> list[tuple[int, float]]:
        """Every ``(step, value)`` of one metric, in step order."""
        return self.histories([key])[key]

    def histories(self, keys: list[str] | None = None) -> dict[str, list[tuple[int, float]]]:
        """Every ``(step, value)`` per metric, in step order, in one query: the metrics
        ``keys`` (each present, maybe empty), or every metric of the run in name order."""
        points = self.metric_points.order_by("key", "step", "id")
        out: dict[str, list[tuple[int, float]]] = {}
        if keys is not None:
            points = points.filter(key__in=keys)
            out = {key: [] for key in keys}
        # Tuples, not model instances: a deferred instance loads its run_id one query each.
        for key, step, value in points.values_list("key", "step", "value"):
            out.setdefault(key, []).append((step, MetricPoint.to_float(value)))
        return out

    def metric_names(self) -> list[str]:
        # order_by("key"): the default ordering's fields would otherwise join DISTINCT.
        return list(self.metric_points.order_by("key").values_list("key", flat=True).distinct())


class MetricPoint(models.Model):
    """One value of one metric at one step of a run.

    ``value`` is NULL for NaN, because SQLite cannot store NaN (it stores NULL);
    ±Infinity are stored as floats. Use :attr:`as_float` (:meth:`to_float` for stored values).
    """

    run = models.ForeignKey(Run, models.CASCADE, related_name="metric_points")
    key = models.CharField(max_length=256)
    step = models.BigIntegerField()
    value = models.FloatField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["run", "key", "step"], name="metric_run_key_step")]
        ordering = ["run", "key", "step"]

    def __str__(self) -> str:
        return f"{self.key}@{self.step}={self.as_float}"

    @property
    def as_float(self) -> float:
        return self.to_float(self.value)

    @staticmethod
    def to_db(value: float) -> float | None:
        return None if math.isnan(value) else value

    @staticmethod
    def to_float(value: float | None) -> float:
        return math.nan if value is None else value


def encode_number(value: float) -> float | str:
    """JSON has no NaN or infinities: encode them as the API's strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def decode_number(value: float | int | str) -> float:
    if isinstance(value, str):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[value]
    return float(value)


class Artifact(models.Model):
    """An artifact "collection" of a project: a name and a type, with versions."""

    project = models.ForeignKey(Project, models.CASCADE, related_name="artifacts")
    name = models.CharField(max_length=128, validators=[name_validator])
    type = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="artifact_unique_project_name")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.project}/{self.name}"

    def get_absolute_url(self) -> str:
        return reverse(
            "artifact_detail", args=[self.project.team.slug, self.project.name, self.name]
        )

    def latest(self) -> ArtifactVersion | None:
        return self.versions.order_by("-index").first()

    def resolve(self, version_or_alias: str) -> ArtifactVersion:
        """``v3`` or an alias → the version (``ArtifactVersion.DoesNotExist`` otherwise)."""
        if VERSION_RE.match(version_or_alias):
            return self.versions.get(index=int(version_or_alias[1:]))
        return self.aliases.select_related("version").get(alias=version_or_alias).version

    @classmethod
    def log_version(
        cls,
        project: Project,
        *,
        name: str,
        type: str,
        digest: str,
        metadata: dict[str, Any] | None = None,
        aliases: list[str] | None = None,
        author: Any,
    ) -> tuple[ArtifactVersion, bool]:
        """Log a version; returns ``(version, created)``.

        The same digest as the newest version creates nothing and emits nothing.
        A new version emits ``CREATE_ARTIFACT``, then ``ADD_ARTIFACT_ALIAS`` per alias.
        Raises ``ValueError`` when the artifact exists with another type."""
        with transaction.atomic():
            artifact, _ = cls.objects.get_or_create(
                project=project, name=name, defaults={"type": type}
            )
            if artifact.type != type:
                raise ValueError(
                    f"artifact {name!r} has type {artifact.type!r}, not {type!r}"
                )
            artifact = cls.objects.select_for_update().get(pk=artifact.pk)
            newest = artifact.latest()
            if newest is not None and newest.digest == digest:
                return newest, False
            version = ArtifactVersion.objects.create(
                artifact=artifact,
                index=0 if newest is None else newest.index + 1,
                digest=digest,
                metadata=metadata or {},
                author=author if getattr(author, "is_authenticated", False) else None,
            )
            from automations.emit import emit_event
            from automations.subjects import version_data

            emit_event(
                "CREATE_ARTIFACT",
                project,
                subject=version.ref,
                subject_url=artifact.get_absolute_url(),
                author=author,
                data={"artifact": version_data(version)},
            )
            for alias in aliases or []:
                version.add_alias(alias, author)
        return version, True


class ArtifactVersion(models.Model):
    """An immutable version ``v<index>`` of an artifact."""

    artifact = models.ForeignKey(Artifact, models.CASCADE, related_name="versions")
    index = models.PositiveIntegerField()
    digest = models.CharField(max_length=256)
    metadata = models.JSONField(default=dict, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["artifact", "index"], name="artifactversion_unique_index"
            )
        ]
        ordering = ["artifact", "-index"]

    def __str__(self) -> str:
        return self.ref

    @property
    def version(self) -> str:
        return f"v{self.index}"

    @property
    def ref(self) -> str:
        p = self.artifact.project
        return f"{p.team.slug}/{p.name}/{self.artifact.name}:{self.version}"

    def alias_names(self) -> list[str]:
        return sorted(a.alias for a in self.aliases.all())

    def add_alias(self, alias: str, user: Any) -> bool:
        """Point ``alias`` at this version, moving it from another version if needed.

        Emits ``ADD_ARTIFACT_ALIAS`` unless the alias already named this version.
        Raises ``ValueError`` for a malformed alias."""
        with transaction.atomic():
            if not move_alias(ArtifactAlias, {"artifact_id": self.artifact_id}, self, alias):
                return False
            from automations.emit import emit_event
            from automations.subjects import version_data

            emit_event(
                "ADD_ARTIFACT_ALIAS",
                self.artifact.project,
                subject=f"{self.ref} @{alias}",
                subject_url=self.artifact.get_absolute_url(),
                author=user,
                data={"artifact": version_data(self), "alias": alias},
            )
        return True


class ArtifactAlias(models.Model):
    """An alias names at most one version of an artifact at a time."""

    artifact = models.ForeignKey(Artifact, models.CASCADE, related_name="aliases")
    version = models.ForeignKey(ArtifactVersion, models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["artifact", "alias"], name="artifactalias_unique")
        ]
        ordering = ["alias"]

    def __str__(self) -> str:
        return self.alias
