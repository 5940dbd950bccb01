"""Projects: runs with metric history, and versioned artifacts with aliases."""

from __future__ import annotations

import math
import re
import secrets as pysecrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, connection, models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.http import RFC3986_SUBDELIMS

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


TAG_RE = ALIAS_RE


def validate_tag(tag: str) -> None:
    """Tags follow the alias name rule (1–128 letters, digits, '.', '_' or '-')."""
    if not isinstance(tag, str) or not TAG_RE.match(tag):
        raise ValueError(
            "A tag is 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit."
        )


def change_tags(obj: models.Model, tag: str, *, add: bool) -> bool:
    """Add ``tag`` to (or remove it from) ``obj.tags`` under a row lock; call inside a
    transaction. Returns False when nothing changed (already there / not there)."""
    validate_tag(tag)
    locked = type(obj).objects.select_for_update().only("pk", "tags").get(pk=obj.pk)
    tags = list(locked.tags or [])
    if (tag in tags) == add:
        obj.tags = tags
        return False
    tags = sorted({*tags, tag}) if add else [t for t in tags if t != tag]
    type(obj).objects.filter(pk=obj.pk).update(tags=tags)
    obj.tags = tags
    return True


class TaggedMixin:
    """``add_tag`` / ``remove_tag`` for a model with a ``tags`` JSON list.

    A model names its two events in ``tag_events`` (add, remove) and emits one with
    ``_emit_tag_event``; both run in the transaction that changed the tags."""

    tag_events: tuple[str, str]

    def add_tag(self, tag: str, author: Any = None) -> bool:
        """Add ``tag``; emits the model's add event unless it was there.
        Raises ``ValueError`` for a malformed tag."""
        return self._change_tag(tag, author, add=True)

    def remove_tag(self, tag: str, author: Any = None) -> bool:
        """Remove ``tag``; emits the model's remove event unless it was not there."""
        return self._change_tag(tag, author, add=False)

    def _change_tag(self, tag: str, author: Any, *, add: bool) -> bool:
        with transaction.atomic():
            if not change_tags(self, tag, add=add):  # type: ignore[arg-type]
                return False
            self._emit_tag_event(self.tag_events[0 if add else 1], tag, author)
        return True

    def _emit_tag_event(self, event: str, tag: str, author: Any) -> None:
        raise NotImplementedError


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
        # Remembered on the instance (for its slug and name): a list of runs shares one
        # project instance and asks it once per row.
        key = (self.team.slug, self.name)
        remembered = self.__dict__.get("_url")
        if remembered is None or remembered[0] != key:
            remembered = self.__dict__["_url"] = (key, reverse("project_detail", args=key))
        return remembered[1]

    @classmethod
    def get_or_create_for(cls, team: Team, name: str) -> Project:
        """Projects are created on first use (like ``wandb.init``)."""
        project, _ = cls.objects.get_or_create(team=team, name=name)
        return project


HistoryRow = tuple[int, dict[str, float]]


class StepsGoBackwards(ValueError):
    """A history row's step is before an earlier row's, or before the run's last step
    without being a row already stored. ``index`` is the row's position in the post."""

    def __init__(self, index: int, step: int, last: int) -> None:
        super().__init__(f"Step {step} goes backwards: the run is already at step {last}.")
        self.index = index


def history_chunks(rows: list[HistoryRow], chunk_points: int) -> list[list[HistoryRow]]:
    """``rows`` cut into consecutive chunks of about ``chunk_points`` values each,
    only between different steps (a step's rows stay in one chunk)."""
    chunks: list[list[HistoryRow]] = []
    current: list[HistoryRow] = []
    points = 0
    for step, metrics in rows:
        if current and points >= chunk_points and step != current[-1][0]:
            chunks.append(current)
            current, points = [], 0
        current.append((step, metrics))
        points += max(1, len(metrics))
    if current:
        chunks.append(current)
    return chunks


def generate_run_id() -> str:
    return pysecrets.token_hex(4)


class Source(models.TextChoices):
    """Which protocol brought a run, an artifact version or a link into Beacon."""

    API = "api", "Beacon API"
    MLFLOW = "mlflow", "MLflow"
    WANDB = "wandb", "W&B"


def source_field() -> models.CharField:
    return models.CharField(max_length=16, choices=Source.choices, default=Source.API)


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
    source = source_field()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    # What ``append_history`` re-reads with the run locked: the fields that other
    # requests change (history, state, name, tags) and that a chunk reads or emits.
    LOCKED_FIELDS = ("display_name", "state", "tags", "summary", "last_step", "updated_at")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "run_id"], name="run_unique_project_id")
        ]
        # Pages of a project's runs, newest first, read without sorting all its runs.
        indexes = [models.Index(fields=["project", "created_at", "id"], name="run_project_created")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """The display name, or the id when there is none."""
        return self.display_name or self.run_id

    def get_absolute_url(self) -> str:
        # What reverse("run_detail") gives (quoted as it quotes), without resolving the
        # URLconf once per run of a list.
        run_id = quote(self.run_id, safe=RFC3986_SUBDELIMS + "/~:@")
        return f"{self.project.get_absolute_url()}runs/{run_id}/"

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
        source: str = Source.API,
        event_author: Any = None,
    ) -> Run:
        """Create a running run and emit ``RUN_STATE`` (state ``running``).

        ``event_author`` (default ``author``) is who the event names: the run may be
        credited to another member than the caller.
        Raises ``IntegrityError`` when ``run_id`` is taken in the project."""
        with transaction.atomic():
            run = cls.objects.create(
                project=project,
                run_id=run_id or generate_run_id(),
                display_name=display_name,
                author=author if getattr(author, "is_authenticated", False) else None,
                config=config or {},
                tags=tags or [],
                source=source,
            )
            run._emit_state(None, author if event_author is None else event_author)
        return run

    def update_info(
        self,
        *,
        display_name: str | None = None,
        config: dict[str, Any] | None = None,
        tags: list[str] | None = None,
    ) -> None:
        """Replace the display name, config or tags (those given); emits nothing."""
        fields = ["updated_at"]
        if display_name is not None:
            self.display_name = display_name
            fields.append("display_name")
        if config is not None:
            self.config = config
            fields.append("config")
        if tags is not None:
            self.tags = tags
            fields.append("tags")
        self.updated_at = timezone.now()
        self.save(update_fields=fields)

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
        self._emit(
            "RUN_STATE",
            user,
            state=self.state,
            previous_state=previous,
            **({"reason": reason} if reason else {}),
        )

    def _emit(self, event: str, user: Any, **data: Any) -> None:
        """Emit a run event: ``{"run": run_data(self), **data}``."""
        from automations.emit import emit_event
        from automations.subjects import run_data

        emit_event(
            event,
            self.project,
            subject=self.ref,
            subject_url=self.get_absolute_url(),
            author=user,
            data={"run": run_data(self), **data},
        )

    def unstored(self, rows: list[HistoryRow]) -> list[HistoryRow]:
        """``rows`` without the ones already stored, so a retried post is a no-op.

        A row at or before the run's last step counts as stored when every one of
        its metrics has that value at that step. Raises :class:`StepsGoBackwards`
        for a row before the last step that is not stored, or for steps going
        backwards within ``rows``; a new row may repeat the last step (more metrics
        of the same step)."""
        previous: int | None = None
        for index, (step, _) in enumerate(rows):
            if previous is not None and step < previous:
                raise StepsGoBackwards(index, step, previous)
            previous = step
        last = self.last_step
        if last is None or not rows or rows[0][0] > last:
            return rows
        stored = set(
            self.metric_points.filter(step__gte=rows[0][0], step__lte=last).values_list(
                "step", "key", "value"
            )
        )
        fresh: list[HistoryRow] = []
        for index, (step, metrics) in enumerate(rows):
            if step > last:
                fresh.extend(rows[index:])
                break
            if all((step, k, MetricPoint.to_db(v)) in stored for k, v in metrics.items()):
                continue
            if step < last:
                raise StepsGoBackwards(index, step, last)
            fresh.append((step, metrics))
        return fresh

    def log_history(self, rows: list[HistoryRow], user: Any) -> int:
        """Append metric rows ``(step, {name: value})`` in one transaction; emits one
        ``RUN_METRIC`` event for the rows written. Returns the number of rows written.

        Rows already stored (a retry) are skipped; see :meth:`unstored` for the
        ``StepsGoBackwards`` rule. Call with the run locked (``select_for_update``)
        when other requests may write its history at the same time."""
        rows = self.unstored(rows)
        if not rows:
            return 0
        last = rows[-1][0] if self.last_step is None else max(self.last_step, rows[-1][0])
        now = timezone.now()
        points = [
            (k, step, MetricPoint.to_db(v)) for step, metrics in rows for k, v in metrics.items()
        ]
        latest: dict[str, float] = {}  # each metric's last value in these rows
        for _, metrics in rows:
            latest.update(metrics)
        summary = {**self.summary, **{k: encode_number(v) for k, v in latest.items()}}
        with transaction.atomic():
            MetricPoint.insert(self.pk, points, now)
            Run.objects.filter(pk=self.pk).update(summary=summary, last_step=last, updated_at=now)
            self.summary, self.last_step, self.updated_at = summary, last, now
            if latest:
                self._emit_metric(sorted(latest), rows[0][0], rows[-1][0], len(rows), user)
        return len(rows)

    def append_history(
        self, rows: list[HistoryRow], user: Any, *, chunk_points: int, pause: float = 0.0
    ) -> int:
        """Append a large post in chunks of about ``chunk_points`` values, each chunk
        its own short transaction with the run locked, so one upload never holds the
        database (SQLite has one writer) for long. Returns the number of rows written.

        Each chunk is what a smaller post would be: its points, the summary and last
        step, and one ``RUN_METRIC`` event for its steps, committed together. A step's
        rows are never split across chunks. The whole post is checked first, so a
        ``StepsGoBackwards`` post writes nothing; rows already stored are skipped
        (a retry after a lost answer, or after a failure between chunks).

        Between chunks it waits ``pause`` seconds plus as long as the last chunk held
        the run locked: SQLite hands its one write lock to no one in particular, and a
        writer that just committed would otherwise take it again before the others
        waiting for it wake up. Holding the lock at most half the time (less on a busy
        machine, where chunks take longer) leaves other writers room."""
        self.unstored(rows)
        written = 0
        held = 0.0
        for number, chunk in enumerate(history_chunks(rows, chunk_points)):
            if number and pause > 0:
                time.sleep(pause + held)
            started = time.monotonic()
            with transaction.atomic():
                # Lock this run's row alone: joining its project and team would lock
                # their rows too (PostgreSQL), which every other run's post needs.
                # Re-read what other requests may have changed; the project, team and
                # author already loaded stay (the event names them).
                self.refresh_from_db(
                    fields=self.LOCKED_FIELDS, from_queryset=Run.objects.select_for_update()
                )
                written += self.log_history(chunk, user)
            held = time.monotonic() - started
        return written

    def log_points(self, points: list[LoggedPoint], user: Any) -> int:
        """Append metric points with MLflow's rules: every metric has its own steps,
        logged in any order, and a step may be logged again. Call with the run locked.

        Nothing is refused for its step. Metric events still judge the points in
        the order they came: one ``RUN_METRIC`` event per stretch of the call whose
        steps do not go backwards (a call in step order emits one event, like
        :meth:`log_history`). The summary keeps, per metric, the value of its highest
        step (the later one on a tie), as MLflow's "latest" value does."""
        if not points:
            return 0
        now = timezone.now()
        stored_max: dict[str, int] = {}
        lowest = min(p.step for p in points)
        if self.last_step is not None and lowest < self.last_step:
            # Some points may be older than what is stored: compare per metric.
            keys = {p.key for p in points}
            stored_max = dict(
                self.metric_points.filter(key__in=keys)
                .order_by()
                .values("key")
                .annotate(top=models.Max("step"))
                .values_list("key", "top")
            )
        summary = dict(self.summary)
        for p in points:
            top = stored_max.get(p.key)
            if top is None or p.step >= top or p.key not in summary:
                summary[p.key] = encode_number(p.value)
                stored_max[p.key] = p.step
        stretches: list[list[LoggedPoint]] = []
        for p in points:
            if not stretches or p.step < stretches[-1][-1].step:
                stretches.append([])
            stretches[-1].append(p)
        highest = max(p.step for p in points)
        with transaction.atomic():
            MetricPoint.objects.bulk_create(
                [
                    MetricPoint(
                        run=self, key=p.key, step=p.step, value=MetricPoint.to_db(p.value),
                        created_at=p.at or now,
                    )
                    for p in points
                ],
                batch_size=2000,
            )
            self.summary = summary
            self.last_step = highest if self.last_step is None else max(self.last_step, highest)
            self.updated_at = now
            self.save(update_fields=["summary", "last_step", "updated_at"])
            for stretch in stretches:
                names = sorted({p.key for p in stretch})
                steps = len({p.step for p in stretch})
                self._emit_metric(names, stretch[0].step, stretch[-1].step, steps, user)
        return len(points)

    def _emit_metric(self, names: list[str], first: int, last: int, rows: int, user: Any) -> None:
        self._emit("RUN_METRIC", user, metrics=names, first_step=first, last_step=last, rows=rows)

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


@dataclass(frozen=True)
class LoggedPoint:
    """One metric value as a client logged it (``at``: its own timestamp, if any)."""

    key: str
    step: int
    value: float
    at: datetime | None = None


class MetricPoint(models.Model):
    """One value of one metric at one step of a run.

    ``value`` is NULL for NaN, because SQLite cannot store NaN (it stores NULL);
    ±Infinity are stored as floats. Use :attr:`as_float` (:meth:`to_float` for stored values).
    """

    # Rows per INSERT statement of ``insert`` (5 parameters each; SQLite allows 32,766).
    INSERT_BATCH = 1000

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

    @classmethod
    def insert(
        cls, run_pk: int, points: list[tuple[str, int, float | None]], created_at: Any
    ) -> None:
        """Insert ``(key, step, value)`` points of one run (values already ``to_db``).

        Not ``bulk_create``: building model instances and their SQL takes ~10× longer
        (0.25 s against 0.025 s for 5,000 points on SQLite), and this runs while the
        run is locked — on SQLite, the whole database. On PostgreSQL, one statement
        whose points are three array parameters (``unnest``): a multi-row VALUES with
        five placeholders a point is parsed client-side by psycopg at every call
        (2,500 placeholders: ~20 ms) and planned by the server at every call, which
        made a 500-point insert 2.5× slower. SQLite takes multi-row VALUES of plain
        tuples (``executemany`` is as fast there)."""
        quote = connection.ops.quote_name
        table = quote(cls._meta.db_table)
        columns = ", ".join(quote(c) for c in ("run_id", "key", "step", "value", "created_at"))
        created = connection.ops.adapt_datetimefield_value(created_at)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                if points:
                    keys, steps, values = zip(*points, strict=True)
                    cursor.execute(
                        f"INSERT INTO {table} ({columns}) SELECT %s, p.key, p.step, p.value, %s"
                        " FROM unnest(%s::text[], %s::bigint[], %s::double precision[])"
                        " AS p(key, step, value)",
                        [run_pk, created, list(keys), list(steps), list(values)],
                    )
                return
            for start in range(0, len(points), cls.INSERT_BATCH):
                batch = points[start:start + cls.INSERT_BATCH]
                values_sql = ", ".join(["(%s, %s, %s, %s, %s)"] * len(batch))
                params = [
                    p for key, step, value in batch for p in (run_pk, key, step, value, created)
                ]
                cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {values_sql}", params)

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
        source: str = Source.API,
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
                source=source,
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


def lookup_version(
    team: Team, project: str, artifact: str, version_or_alias: str
) -> ArtifactVersion | None:
    """``{project}/{artifact}:{version or alias}`` of ``team`` → that version (with its
    artifact, project and team loaded), or ``None`` when there is no such version."""
    found = (
        Artifact.objects.select_related("project__team")
        .filter(project__team=team, project__name=project, name=artifact)
        .first()
    )
    if found is None:
        return None
    try:
        return found.resolve(version_or_alias)
    except ObjectDoesNotExist:
        return None


class ArtifactVersion(TaggedMixin, models.Model):
    """An immutable version ``v<index>`` of an artifact."""

    tag_events = ("ADD_ARTIFACT_TAG", "REMOVE_ARTIFACT_TAG")  # project scope

    artifact = models.ForeignKey(Artifact, models.CASCADE, related_name="versions")
    index = models.PositiveIntegerField()
    digest = models.CharField(max_length=256)
    metadata = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = source_field()
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

    def _emit_tag_event(self, event: str, tag: str, author: Any) -> None:
        from automations.emit import emit_event
        from automations.subjects import version_data

        emit_event(
            event,
            self.artifact.project,
            subject=f"{self.ref} #{tag}",
            subject_url=self.artifact.get_absolute_url(),
            author=author,
            data={"artifact": version_data(self), "tag": tag},
        )

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
