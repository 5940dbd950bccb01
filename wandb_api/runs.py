"""W&B runs ("buckets") → Beacon runs, through the same domain methods the JSON API calls."""

from __future__ import annotations

import json
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from projects.models import Project, Run, Source, encode_number, generate_run_id
from teams.access import RANK, Role, teams_of
from teams.models import Team, name_validator
from wandb_api.models import WandbRun


class ProtocolError(Exception):
    """Answered as a GraphQL error (the SDK shows the message), never a 5xx."""


def writable_team(user: Any, entity: str | None) -> Team:
    """The team a W&B ``entity`` names, where ``user`` may write.

    No entity (or the user's own name, the SDK's default) means the user's only team."""
    accesses = teams_of(user)
    if entity:
        for access in accesses:
            if access.team.slug == entity:
                if RANK[Role(access.role)] < RANK[Role.MEMBER]:
                    raise ProtocolError(f"Your role in team {entity} cannot log runs.")
                return access.team
        if entity != getattr(user, "username", None):
            raise ProtocolError(f"No team named {entity} among your teams.")
    writable = [a.team for a in accesses if RANK[Role(a.role)] >= RANK[Role.MEMBER]]
    if len(writable) != 1:
        raise ProtocolError(
            "Set the entity (WANDB_ENTITY or wandb.init(entity=...)) to one of your teams."
        )
    return writable[0]


def project_for_write(team: Team, name: str | None) -> Project:
    name = name or "uncategorized"
    _check_name(name, "project")
    try:
        with transaction.atomic():
            return Project.get_or_create_for(team, name)
    except IntegrityError:
        return team.projects.get(name=name)


def _check_name(name: str, what: str) -> None:
    try:
        name_validator(name)
    except Exception as exc:
        raise ProtocolError(
            f"Invalid {what} name {name!r}: use 1–128 letters, digits, '.', '_' or '-'."
        ) from exc


def parse_config(text: str | None) -> dict[str, Any] | None:
    """W&B config ``{"lr": {"value": 0.1, "desc": null}, "_wandb": {...}}`` → ``{"lr": 0.1}``."""
    if not text:
        return None
    try:
        raw = json.loads(text)
    except ValueError:
        return None
    if not isinstance(raw, dict):
        return None
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key.startswith("_wandb"):
            continue
        out[key] = value.get("value") if isinstance(value, dict) and "value" in value else value
    return jsonable(out)


def jsonable(value: Any) -> Any:
    """``value`` with NaN and infinities as the API's strings (JSON columns refuse them)."""
    if isinstance(value, float):
        return encode_number(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def upsert_run(user: Any, data: dict[str, Any]) -> tuple[Run, bool]:
    """Create or update the run an ``upsertBucket`` names; returns ``(run, inserted)``."""
    run = None
    run_pk = _run_pk(data.get("id"))
    if run_pk is not None:
        run = Run.objects.select_related("project__team").filter(pk=run_pk).first()
        if run is not None:
            writable_team(user, run.project.team.slug)
    if run is None:
        team = writable_team(user, data.get("entityName"))
        project = project_for_write(team, data.get("modelName"))
        run_id = data.get("name") or generate_run_id()
        _check_name(run_id, "run")
        run = project.runs.select_related("project__team").filter(run_id=run_id).first()
    config = parse_config(data.get("config"))
    tags = data.get("tags")
    display_name = data.get("displayName")
    if run is None:
        try:
            run = Run.start(
                project,
                author=user,
                run_id=run_id,
                display_name=display_name or "",
                config=config,
                tags=list(tags or []),
                source=Source.WANDB,
            )
            inserted = True
        except IntegrityError:  # started concurrently by a retried request
            run = project.runs.select_related("project__team").get(run_id=run_id)
            inserted = False
    else:
        inserted = False
        fields = ["updated_at"]
        if display_name is not None:
            run.display_name = display_name
            fields.append("display_name")
        if config is not None:
            run.config = config
            fields.append("config")
        if tags is not None:
            run.tags = list(tags)
            fields.append("tags")
        run.updated_at = timezone.now()
        run.save(update_fields=fields)
    side, _ = WandbRun.objects.get_or_create(run=run)
    changed = ["last_heartbeat_at"]
    for attr, key in (("notes", "notes"), ("group", "groupName"), ("job_type", "jobType")):
        if data.get(key) is not None:
            setattr(side, attr, data[key])
            changed.append(attr)
    side.last_heartbeat_at = timezone.now()
    side.save(update_fields=changed)
    if not inserted and data.get("id") is None and run.state != Run.State.RUNNING:
        # A new process names an existing run without its id: ``resume``.
        run.set_state(Run.State.RUNNING, user)
    summary = data.get("summaryMetrics")
    if summary:
        update_summary(run, summary)
    return run, inserted


def _run_pk(value: str | None) -> int | None:
    from wandb_api.nodes import parse_id

    return parse_id("Run", value)


def update_summary(run: Run, text: str) -> None:
    """Merge a W&B summary (JSON text) into the run's summary: numbers (NaN and
    infinities as the API's strings), strings and booleans; media and nested
    objects are not kept."""
    try:
        raw = json.loads(text)
    except ValueError:
        return
    if not isinstance(raw, dict):
        return
    summary = dict(run.summary)
    for key, value in raw.items():
        if key.startswith("_"):
            continue
        if isinstance(value, bool) or isinstance(value, str):
            summary[key] = value
        elif isinstance(value, int | float):
            summary[key] = encode_number(float(value)) if isinstance(value, float) else value
    if summary != run.summary:
        Run.objects.filter(pk=run.pk).update(summary=summary, updated_at=timezone.now())
        run.summary = summary


def numeric(value: Any) -> float | None:
    """A history value Beacon keeps as a metric point: numbers (NaN and ±inf too), not
    booleans, strings or media."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
