"""API bodies of the project scope: runs, metric history, artifacts and aliases."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from ninja import Schema
from pydantic import AfterValidator, Field

from config.api import ApiError
from projects.models import Run, validate_alias, validate_tag
from teams.schemas import Name, invalid

MAX_HISTORY_ROWS = 10_000
MAX_METRIC_NAME = 256
MAX_STEP = 2**63 - 1
NON_FINITE = ("NaN", "Infinity", "-Infinity")
TYPE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _valid_alias(value: str) -> str:
    validate_alias(value)  # ValueError becomes a field error
    return value


def _valid_type(value: str) -> str:
    if not TYPE_RE.match(value):
        raise ValueError("Use 1–64 letters, digits, '.', '_' or '-', e.g. 'model'.")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("Must not be empty.")
    return value


Alias = Annotated[str, Field(strict=True), AfterValidator(_valid_alias)]
Tag = Annotated[str, Field(strict=True, min_length=1, max_length=128)]


class RunIn(Schema):
    id: Name | None = None
    display_name: Annotated[str, Field(strict=True, max_length=256)] | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    tags: list[Tag] = Field(default_factory=list, max_length=100)


class RunPatch(Schema):
    state: Run.State


class HistoryIn(Schema):
    rows: list[Any]


class ArtifactIn(Schema):
    name: Name
    type: Annotated[str, Field(strict=True), AfterValidator(_valid_type)]
    digest: Annotated[str, Field(strict=True, max_length=256), AfterValidator(_not_blank)]
    metadata: dict[str, Any] = Field(default_factory=dict)
    aliases: list[Alias] = Field(default_factory=list, max_length=100)


class AliasIn(Schema):
    alias: Alias


def _valid_tag(value: str) -> str:
    validate_tag(value)  # ValueError becomes a field error
    return value


class TagIn(Schema):
    tag: Annotated[str, Field(strict=True), AfterValidator(_valid_tag)]


def check_tag(tag: str) -> None:
    """A tag given in a path: 400 naming the field when it breaks the tag rule."""
    try:
        validate_tag(tag)
    except ValueError as exc:
        raise invalid({"tag": [str(exc)]}) from exc


def _metric_value(value: object) -> float:
    """A JSON number or one of the strings ``NaN``, ``Infinity``, ``-Infinity``."""
    if isinstance(value, bool) or value is None:
        raise ValueError
    if isinstance(value, str):
        if value not in NON_FINITE:
            raise ValueError
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[value]
    if isinstance(value, int | float):
        number = float(value)  # OverflowError for integers beyond a double
        if math.isinf(number) and not isinstance(value, float):
            raise ValueError
        return number
    raise ValueError


def parse_history(rows: list[Any], last_step: int | None) -> list[tuple[int, dict[str, float]]]:
    """Validate history rows into ``(step, {metric: value})``.

    Raises a 413 for more than ``MAX_HISTORY_ROWS`` rows and a 400 naming each bad
    row (``rows.3.step``, ``rows.3.metrics.loss``) otherwise."""
    if len(rows) > MAX_HISTORY_ROWS:
        raise ApiError(
            413,
            "too_large",
            f"Send at most {MAX_HISTORY_ROWS:,} rows per call; this request has {len(rows):,}.",
        )
    fields: dict[str, list[str]] = {}
    parsed: list[tuple[int, dict[str, float]]] = []
    previous = last_step
    for i, row in enumerate(rows):
        where = f"rows.{i}"
        if not isinstance(row, dict):
            fields[where] = ['Each row is an object {"step": n, "metrics": {...}}.']
            continue
        step = row.get("step")
        if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= MAX_STEP:
            fields[f"{where}.step"] = ["The step must be a non-negative integer."]
            continue
        if previous is not None and step < previous:
            fields[f"{where}.step"] = [
                f"Step {step} goes backwards: the run is already at step {previous}."
            ]
            continue
        previous = step
        metrics = row.get("metrics", {})
        if not isinstance(metrics, dict):
            fields[f"{where}.metrics"] = ['The metrics are an object {"name": value}.']
            continue
        values: dict[str, float] = {}
        for name, value in metrics.items():
            if not name or len(name) > MAX_METRIC_NAME:
                fields.setdefault(f"{where}.metrics", []).append(
                    f"Metric names are 1–{MAX_METRIC_NAME} characters."
                )
                continue
            if type(value) is float:  # nearly every value: what _metric_value returns as is
                values[name] = value
                continue
            try:
                values[name] = _metric_value(value)
            except (ValueError, OverflowError):
                fields[f"{where}.metrics.{name}"] = [
                    'Send a number, or "NaN", "Infinity" or "-Infinity".'
                ]
        parsed.append((step, values))
        if len(fields) >= 20:  # enough to fix the caller; do not echo 10,000 problems
            break
    if fields:
        raise invalid(fields, "Some history rows are not valid.")
    return parsed
