"""The run's ``file_stream``: history rows → metric history (``Run.log_history``),
summary → summary, console output counted, every post a heartbeat, and the final
``complete`` + ``exitcode`` → ``finished`` / ``failed`` (``Run.set_state``)."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from projects.models import Run
from wandb_api.models import WandbRun
from wandb_api.runs import ProtocolError, numeric, update_summary, writable_team

log = logging.getLogger(__name__)

HISTORY = "wandb-history.jsonl"
SUMMARY = "wandb-summary.json"
OUTPUT = "output.log"


def _new_lines(chunk: Any, accepted: int) -> tuple[list[str], int]:
    """The lines of a file chunk past ``accepted`` lines, and the new count."""
    if not isinstance(chunk, dict) or not isinstance(chunk.get("content"), list):
        return [], accepted
    offset = chunk.get("offset") if isinstance(chunk.get("offset"), int) else accepted
    lines = [line for line in chunk["content"] if isinstance(line, str)]
    skip = max(0, accepted - offset)
    return lines[skip:], max(accepted, offset + len(lines))


def history_rows(lines: list[str]) -> list[tuple[int, dict[str, float]]]:
    rows: list[tuple[int, dict[str, float]]] = []
    for line in lines:
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if not isinstance(row, dict):
            continue
        step = row.get("_step")
        if isinstance(step, bool) or not isinstance(step, int | float):
            step = rows[-1][0] + 1 if rows else 0
        metrics: dict[str, float] = {}
        _flatten(row, "", metrics)
        rows.append((int(step), metrics))
    return rows


def _flatten(values: dict[str, Any], prefix: str, out: dict[str, float]) -> None:
    """Numbers of a history row; nested dicts as ``outer.inner`` (W&B's naming), media
    (objects with ``_type``) and ``_``-keys (``_step``, ``_runtime``) left out."""
    for key, value in values.items():
        if key.startswith("_"):
            continue
        if isinstance(value, dict):
            if "_type" not in value:
                _flatten(value, f"{prefix}{key}.", out)
            continue
        number = numeric(value)
        if number is not None:
            out[f"{prefix}{key}"] = number


def accept(user: Any, entity: str, project: str, run_id: str, body: dict[str, Any]) -> None:
    team = writable_team(user, entity)
    files = body.get("files") if isinstance(body.get("files"), dict) else {}
    with transaction.atomic():
        run = (
            Run.objects.select_for_update()
            .select_related("project__team")
            .filter(project__team=team, project__name=project, run_id=run_id)
            .first()
        )
        if run is None:
            raise ProtocolError(f"No run {run_id} in {team.slug}/{project}.")
        side, _ = WandbRun.objects.select_for_update().get_or_create(run=run)
        fields = ["last_heartbeat_at"]
        side.last_heartbeat_at = timezone.now()
        lines, side.history_lines = _new_lines(files.get(HISTORY), side.history_lines)
        if lines:
            fields.append("history_lines")
            rows = [(step, m) for step, m in history_rows(lines) if m]
            try:
                run.log_history(rows, user)
            except ValueError as exc:  # steps went backwards: keep the run, drop these rows
                log.warning("wandb run %s: history rows dropped: %s", run.ref, exc)
        output, side.log_lines = _new_lines(files.get(OUTPUT), side.log_lines)
        if output:
            fields.append("log_lines")
        summary = files.get(SUMMARY)
        if isinstance(summary, dict) and isinstance(summary.get("content"), list):
            texts = [t for t in summary["content"] if isinstance(t, str)]
            if texts:
                update_summary(run, texts[-1])
        if run.state == Run.State.CRASHED and body.get("complete") is not True:
            # The process was only out of reach (a network partition): it is alive.
            run.set_state(
                Run.State.RUNNING, user, reason="Heartbeats from the wandb process resumed."
            )
        if body.get("complete") is True:
            code = body.get("exitcode")
            side.exit_code = code if isinstance(code, int) and not isinstance(code, bool) else 0
            fields.append("exit_code")
            state = Run.State.FINISHED if side.exit_code == 0 else Run.State.FAILED
            run.set_state(state, user)
        side.save(update_fields=fields)
