"""The event catalog: which events automations can react to, in which scope, with which filter.

Everything about an event type lives here, in one place: its label, the
``Event.type`` it listens to, the schema of its filter (from which forms are
generated and API input is validated), the filter in words, and a realistic
sample of its ``Event.data`` for testing an automation without a real event.
Pure Python: no ORM.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.db.models import TextChoices

from automations.regex import compile_user_regex

PROJECT = "project"
REGISTRY = "registry"
SCOPES = (PROJECT, REGISTRY)


class EventType(TextChoices):
    RUN_STATE = "RUN_STATE", "A run changes state"
    RUN_METRIC_THRESHOLD = "RUN_METRIC_THRESHOLD", "A run metric crosses a threshold"
    RUN_METRIC_CHANGE = "RUN_METRIC_CHANGE", "A run metric changes by an amount"
    RUN_METRIC_ZSCORE = "RUN_METRIC_ZSCORE", "A run metric is an outlier (z-score)"
    CREATE_ARTIFACT = "CREATE_ARTIFACT", "A new artifact version is created"
    ADD_ARTIFACT_ALIAS = "ADD_ARTIFACT_ALIAS", "An alias is added to an artifact version"
    LINK_ARTIFACT = "LINK_ARTIFACT", "A version is linked to a registry collection"
    UNLINK_ARTIFACT = "UNLINK_ARTIFACT", "A version is unlinked from a registry collection"
    ADD_ARTIFACT_TAG = "ADD_ARTIFACT_TAG", "A tag is added to an artifact version"
    REMOVE_ARTIFACT_TAG = "REMOVE_ARTIFACT_TAG", "A tag is removed from an artifact version"
    ADD_COLLECTION_TAG = "ADD_COLLECTION_TAG", "A tag is added to a registry collection"
    REMOVE_COLLECTION_TAG = "REMOVE_COLLECTION_TAG", "A tag is removed from a registry collection"


RUN_TYPES = frozenset(
    {
        EventType.RUN_STATE,
        EventType.RUN_METRIC_THRESHOLD,
        EventType.RUN_METRIC_CHANGE,
        EventType.RUN_METRIC_ZSCORE,
    }
)
METRIC_TYPES = frozenset(
    {EventType.RUN_METRIC_THRESHOLD, EventType.RUN_METRIC_CHANGE, EventType.RUN_METRIC_ZSCORE}
)
ARTIFACT_TYPES = frozenset(
    {
        EventType.CREATE_ARTIFACT,
        EventType.ADD_ARTIFACT_ALIAS,
        EventType.LINK_ARTIFACT,
        EventType.UNLINK_ARTIFACT,
        EventType.ADD_ARTIFACT_TAG,
        EventType.REMOVE_ARTIFACT_TAG,
    }
)
ALIAS_TYPES = frozenset({EventType.ADD_ARTIFACT_ALIAS})
TAG_TYPES = frozenset(
    {
        EventType.ADD_ARTIFACT_TAG,
        EventType.REMOVE_ARTIFACT_TAG,
        EventType.ADD_COLLECTION_TAG,
        EventType.REMOVE_COLLECTION_TAG,
    }
)
# Events about a whole registry collection (no version): collection tags.
COLLECTION_TYPES = frozenset({EventType.ADD_COLLECTION_TAG, EventType.REMOVE_COLLECTION_TAG})

# W&B's wire names for event types, accepted on input and answered with Beacon's.
WANDB_SYNONYMS = {"LINK_MODEL": "LINK_ARTIFACT", "RUN_METRIC": "RUN_METRIC_THRESHOLD"}


def canonical_type(type: str) -> str:
    """Beacon's name of an event type given in W&B's wire name (others unchanged)."""
    return WANDB_SYNONYMS.get(type, type) if isinstance(type, str) else type

# Run states a RUN_STATE automation can watch. "crashed" is the same as "failed";
# "killed" (a user stopping a run on purpose) never fires.
RUN_STATES = ("running", "finished", "failed")
STATE_ALIASES = {"crashed": "failed"}
NEVER_FIRING_STATES = frozenset({"killed"})

AGGREGATIONS = ("avg", "min", "max")
COMPARISONS = ("gt", "gte", "lt", "lte", "eq", "ne", "nonfinite")
COMPARISON_SYMBOLS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "==", "ne": "!="}
CHANGE_TYPES = ("relative", "absolute")
CHANGE_DIRECTIONS = ("increase", "decrease", "any")
ZSCORE_DIRECTIONS = ("above", "below", "any")

MAX_TEXT_LENGTH = 256


@dataclass(frozen=True)
class FilterField:
    """One filter key: enough to validate API input and to generate a form field.

    ``kind``: ``str`` | ``int`` | ``float`` | ``choice`` | ``multichoice`` | ``regex``.
    ``min``/``max`` bound numbers inclusively unless ``exclusive_min`` is set
    (``amount > 0``). ``default`` is applied when the key is absent; optional
    fields without a default are simply left out of the cleaned filter.
    """

    name: str
    kind: str
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    exclusive_min: bool = False
    label: str = ""
    help: str = ""


@dataclass(frozen=True)
class EventSpec:
    """One automation event type in one scope."""

    type: str
    scope: str
    label: str
    description: str
    source: str  # the Event.type this automation type listens to
    fields: tuple[FilterField, ...]

    @property
    def is_run_event(self) -> bool:
        return self.type in RUN_TYPES

    @property
    def is_metric_event(self) -> bool:
        return self.type in METRIC_TYPES

    @property
    def is_artifact_event(self) -> bool:
        return self.type in ARTIFACT_TYPES

    @property
    def is_alias_event(self) -> bool:
        return self.type in ALIAS_TYPES

    @property
    def is_tag_event(self) -> bool:
        return self.type in TAG_TYPES

    @property
    def is_collection_event(self) -> bool:
        return self.type in COLLECTION_TYPES

    def field(self, name: str) -> FilterField:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


class FilterError(Exception):
    """A filter that does not fit its event type; ``fields`` maps keys to messages."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self.fields = fields
        super().__init__("; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in fields.items()))


# --- the filter schemas ------------------------------------------------------

RUN_FILTERS = (
    FilterField(
        "run_name_regex",
        "regex",
        label="Run name matches",
        help="Optional RE2 regular expression searched in the run's display name, e.g. ^sweep-",
    ),
    FilterField(
        "run_user",
        "str",
        label="Run user",
        help="Optional: only runs started by this username.",
    ),
)


def _metric_field() -> FilterField:
    return FilterField("metric", "str", required=True, label="Metric", help="e.g. loss")


def _window_field(default: int, minimum: int = 1) -> FilterField:
    return FilterField(
        "window",
        "int",
        default=default,
        min=minimum,
        max=1000,
        label="Window",
        help="Number of most recent values to look at.",
    )


def _artifact_name_field() -> FilterField:
    return FilterField(
        "artifact_name_regex",
        "regex",
        label="Artifact name matches",
        help="Optional RE2 regular expression searched in the artifact's name.",
    )


def _alias_field() -> FilterField:
    return FilterField(
        "alias_regex",
        "regex",
        required=True,
        label="Alias matches",
        help="RE2 regular expression searched in the added alias, e.g. ^production$",
    )


def _tag_field(removed: bool = False) -> FilterField:
    return FilterField(
        "tag_regex",
        "regex",
        required=True,
        label="Tag matches",
        help=f"RE2 regular expression searched in the {'removed' if removed else 'added'} tag, "
        "e.g. ^validated$",
    )


def _collection_field() -> FilterField:
    return FilterField(
        "collection",
        "str",
        label="Collection",
        help="Optional: only this registry collection.",
    )


_SPECS = (
    EventSpec(
        type=EventType.RUN_STATE,
        scope=PROJECT,
        label=EventType.RUN_STATE.label,
        description="A run enters one of the chosen states (crashed counts as failed; "
        "killed never fires).",
        source="RUN_STATE",
        fields=(
            FilterField(
                "states",
                "multichoice",
                required=True,
                choices=RUN_STATES,
                label="States",
                help="One or more of running, finished, failed.",
            ),
            *RUN_FILTERS,
        ),
    ),
    EventSpec(
        type=EventType.RUN_METRIC_THRESHOLD,
        scope=PROJECT,
        label=EventType.RUN_METRIC_THRESHOLD.label,
        description="The aggregate of the last `window` values of a metric meets a comparison. "
        "Judged only once the run has `window` values; `nonfinite` fires on the first "
        "NaN or ±inf.",
        source="RUN_METRIC",
        fields=(
            _metric_field(),
            _window_field(5),
            FilterField("agg", "choice", default="avg", choices=AGGREGATIONS, label="Aggregation"),
            FilterField(
                "cmp",
                "choice",
                default="gt",
                choices=COMPARISONS,
                label="Comparison",
                help="nonfinite: a value in the window is NaN or ±inf.",
            ),
            FilterField(
                "threshold",
                "float",
                required=True,
                label="Threshold",
                help="Not used with nonfinite.",
            ),
            *RUN_FILTERS,
        ),
    ),
    EventSpec(
        type=EventType.RUN_METRIC_CHANGE,
        scope=PROJECT,
        label=EventType.RUN_METRIC_CHANGE.label,
        description="The mean of the current window differs from the mean of the prior, "
        "consecutive window by at least `amount`. Judged only once both windows are full "
        "(`window` + `prior_window` values).",
        source="RUN_METRIC",
        fields=(
            _metric_field(),
            _window_field(10),
            FilterField(
                "prior_window",
                "int",
                default=50,
                min=1,
                max=10000,
                label="Prior window",
                help="Number of values before the current window to compare with.",
            ),
            FilterField(
                "change_type",
                "choice",
                default="relative",
                choices=CHANGE_TYPES,
                label="Change type",
                help="relative: (current - prior) / |prior|; absolute: current - prior.",
            ),
            FilterField(
                "direction", "choice", default="any", choices=CHANGE_DIRECTIONS, label="Direction"
            ),
            FilterField(
                "amount",
                "float",
                required=True,
                min=0,
                exclusive_min=True,
                label="Amount",
                help="At least this much change; relative amounts are fractions (0.1 = 10%).",
            ),
            *RUN_FILTERS,
        ),
    ),
    EventSpec(
        type=EventType.RUN_METRIC_ZSCORE,
        scope=PROJECT,
        label=EventType.RUN_METRIC_ZSCORE.label,
        description="The newest value's z-score against the previous `window` values "
        "passes the threshold. Judged only once there are `window` previous values.",
        source="RUN_METRIC",
        fields=(
            _metric_field(),
            # A z-score needs at least two previous values, so a window of 1 could never fire.
            _window_field(30, minimum=2),
            FilterField(
                "threshold",
                "float",
                default=2.0,
                min=0,
                exclusive_min=True,
                label="Z-score threshold",
            ),
            FilterField(
                "direction", "choice", default="any", choices=ZSCORE_DIRECTIONS, label="Direction"
            ),
            *RUN_FILTERS,
        ),
    ),
    EventSpec(
        type=EventType.CREATE_ARTIFACT,
        scope=PROJECT,
        label=EventType.CREATE_ARTIFACT.label,
        description="A new version of an artifact is logged in the project.",
        source="CREATE_ARTIFACT",
        fields=(
            _artifact_name_field(),
            FilterField(
                "artifact_type",
                "str",
                label="Artifact type",
                help="Optional: only artifacts of this type, e.g. model.",
            ),
        ),
    ),
    EventSpec(
        type=EventType.ADD_ARTIFACT_ALIAS,
        scope=PROJECT,
        label=EventType.ADD_ARTIFACT_ALIAS.label,
        description="An alias matching the pattern is added to an artifact version.",
        source="ADD_ARTIFACT_ALIAS",
        fields=(_alias_field(), _artifact_name_field()),
    ),
    EventSpec(
        type=EventType.LINK_ARTIFACT,
        scope=REGISTRY,
        label=EventType.LINK_ARTIFACT.label,
        description="A project artifact version is linked to a collection of the registry.",
        source="LINK_ARTIFACT",
        fields=(_collection_field(),),
    ),
    EventSpec(
        type=EventType.ADD_ARTIFACT_ALIAS,
        scope=REGISTRY,
        label="An alias is added to a linked version",
        description="An alias matching the pattern is added to a version in a collection.",
        source="ADD_ARTIFACT_ALIAS",
        fields=(_alias_field(), _collection_field()),
    ),
    EventSpec(
        type=EventType.UNLINK_ARTIFACT,
        scope=REGISTRY,
        label=EventType.UNLINK_ARTIFACT.label,
        description="A version is unlinked from a collection of the registry (its number "
        "is never reused).",
        source="UNLINK_ARTIFACT",
        fields=(_collection_field(),),
    ),
    EventSpec(
        type=EventType.ADD_ARTIFACT_TAG,
        scope=PROJECT,
        label=EventType.ADD_ARTIFACT_TAG.label,
        description="A tag matching the pattern is added to an artifact version.",
        source="ADD_ARTIFACT_TAG",
        fields=(_tag_field(), _artifact_name_field()),
    ),
    EventSpec(
        type=EventType.REMOVE_ARTIFACT_TAG,
        scope=PROJECT,
        label=EventType.REMOVE_ARTIFACT_TAG.label,
        description="A tag matching the pattern is removed from an artifact version.",
        source="REMOVE_ARTIFACT_TAG",
        fields=(_tag_field(removed=True), _artifact_name_field()),
    ),
    EventSpec(
        type=EventType.ADD_ARTIFACT_TAG,
        scope=REGISTRY,
        label="A tag is added to a linked version",
        description="A tag matching the pattern is added to a version in a collection.",
        source="ADD_ARTIFACT_TAG",
        fields=(_tag_field(), _collection_field()),
    ),
    EventSpec(
        type=EventType.REMOVE_ARTIFACT_TAG,
        scope=REGISTRY,
        label="A tag is removed from a linked version",
        description="A tag matching the pattern is removed from a version in a collection.",
        source="REMOVE_ARTIFACT_TAG",
        fields=(_tag_field(removed=True), _collection_field()),
    ),
    EventSpec(
        type=EventType.ADD_COLLECTION_TAG,
        scope=REGISTRY,
        label=EventType.ADD_COLLECTION_TAG.label,
        description="A tag matching the pattern is added to a collection of the registry.",
        source="ADD_COLLECTION_TAG",
        fields=(_tag_field(), _collection_field()),
    ),
    EventSpec(
        type=EventType.REMOVE_COLLECTION_TAG,
        scope=REGISTRY,
        label=EventType.REMOVE_COLLECTION_TAG.label,
        description="A tag matching the pattern is removed from a collection of the registry.",
        source="REMOVE_COLLECTION_TAG",
        fields=(_tag_field(removed=True), _collection_field()),
    ),
)

CATALOG: dict[tuple[str, str], EventSpec] = {(s.scope, str(s.type)): s for s in _SPECS}


def specs_for_scope(scope: str) -> list[EventSpec]:
    """The event types an automation of this scope can use, in catalog order."""
    return [s for s in _SPECS if s.scope == scope]


def get_spec(scope: str, type: str) -> EventSpec:
    """The spec of ``type`` in ``scope``; ``KeyError`` when the pair is not in the catalog."""
    return CATALOG[(scope, type)]


def source_types_to_specs(scope: str, source: str) -> list[EventSpec]:
    """Automation event types in ``scope`` that react to an ``Event.type`` of ``source``."""
    return [s for s in _SPECS if s.scope == scope and s.source == source]


# --- validation ---------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _clean_int(value: Any) -> int:
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("Enter a whole number.")
    return value


def _clean_float(value: Any) -> float:
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ValueError("Enter a number.") from None
    if not _is_number(value):
        raise ValueError("Enter a number.")
    try:
        value = float(value)
    except OverflowError:  # an integer beyond a double
        value = math.inf
    if not math.isfinite(value):
        raise ValueError("Enter a finite number (NaN and infinity are not allowed here).")
    return value


def _check_range(f: FilterField, value: float) -> None:
    if f.min is not None:
        if f.exclusive_min and value <= f.min:
            raise ValueError(f"Must be greater than {format_number(f.min)}.")
        if not f.exclusive_min and value < f.min:
            raise ValueError(f"Must be at least {format_number(f.min)}.")
    if f.max is not None and value > f.max:
        raise ValueError(f"Must be at most {format_number(f.max)}.")


def _clean_multichoice(f: FilterField, value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValueError(f"Enter a list of states, some of: {', '.join(f.choices)}.")
    cleaned: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise ValueError(f"Enter a list of states, some of: {', '.join(f.choices)}.")
        state = STATE_ALIASES.get(item.strip().lower(), item.strip().lower())
        if state in NEVER_FIRING_STATES:
            raise ValueError(
                f"'{item}' cannot be watched: a killed run was stopped on purpose and never "
                "fires an automation. Choose from running, finished, failed."
            )
        if state not in f.choices:
            raise ValueError(
                f"Unknown state '{item}'. Choose from {', '.join(f.choices)} "
                "(crashed counts as failed)."
            )
        if state not in cleaned:
            cleaned.append(state)
    if not cleaned:
        raise ValueError(f"Choose at least one of {', '.join(f.choices)}.")
    return cleaned


def _clean_value(f: FilterField, value: Any) -> Any:
    if f.kind == "int":
        number = _clean_int(value)
        _check_range(f, number)
        return number
    if f.kind == "float":
        number = _clean_float(value)
        _check_range(f, number)
        return number
    if f.kind == "choice":
        if not isinstance(value, str) or value not in f.choices:
            raise ValueError(f"Choose one of {', '.join(f.choices)}.")
        return value
    if f.kind == "multichoice":
        return _clean_multichoice(f, value)
    if not isinstance(value, str):
        raise ValueError("Enter text.")
    if f.kind == "regex":
        compile_user_regex(value)
        return value
    text = value.strip()
    if len(text) > MAX_TEXT_LENGTH:
        raise ValueError(f"At most {MAX_TEXT_LENGTH} characters.")
    return text


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def validate_filter(scope: str, type: str, raw: Any) -> dict[str, Any]:
    """Return the cleaned filter for ``type`` in ``scope``, with defaults applied.

    Rejects unknown keys, wrong types, out-of-range numbers, unknown states and
    invalid RE2 patterns with :class:`FilterError` (one list of messages per
    key; problems with the type itself are reported under ``"type"``). Blank
    optional values are dropped. ``threshold`` is not needed (and dropped) when
    ``cmp`` is ``nonfinite``. States are normalised (``crashed`` → ``failed``).
    """
    try:
        spec = get_spec(scope, type)
    except KeyError:
        available = ", ".join(str(s.type) for s in specs_for_scope(scope)) or "none"
        raise FilterError(
            {"type": [f"Unknown event type '{type}' for a {scope}. Available: {available}."]}
        ) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise FilterError({"filter": ["The filter must be an object."]})

    errors: dict[str, list[str]] = {}
    known = {f.name for f in spec.fields}
    for key in raw:
        if key not in known:
            errors[str(key)] = [
                f"Unknown filter field for {spec.type}. Allowed: {', '.join(sorted(known))}."
            ]

    nonfinite = spec.type == EventType.RUN_METRIC_THRESHOLD and raw.get("cmp") == "nonfinite"
    cleaned: dict[str, Any] = {}
    for f in spec.fields:
        value = raw.get(f.name)
        if f.name == "threshold" and nonfinite:
            continue  # "is NaN or ±inf" compares with nothing
        if _is_blank(value):
            if f.required:
                errors[f.name] = ["This field is required."]
            elif f.default is not None:
                cleaned[f.name] = f.default
            continue
        try:
            cleaned[f.name] = _clean_value(f, value)
        except ValueError as exc:
            errors[f.name] = [str(exc)]
    if errors:
        raise FilterError(errors)
    return cleaned


# --- the filter in words -----------------------------------------------------


def format_number(value: float | int) -> str:
    """A number as people read it: ``2.0``, ``2.31``, ``1e-07``, ``NaN``, ``inf``."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(float(f"{value:.6g}"))


def format_percent(fraction: float) -> str:
    return f"{fraction * 100:.4g}%"


def _with_defaults(spec: EventSpec, filter: dict[str, Any]) -> dict[str, Any]:
    merged = {f.name: f.default for f in spec.fields if f.default is not None}
    merged.update({k: v for k, v in filter.items() if not _is_blank(v)})
    return merged


def describe_metric(type: str, filter: dict[str, Any]) -> str:
    """The metric condition alone, e.g. ``avg(loss, 5) > 2.0`` (the ``${metric_filter}``)."""
    f = _with_defaults(get_spec(PROJECT, type), filter)
    metric, window = f.get("metric", "?"), f["window"]
    if type == EventType.RUN_METRIC_THRESHOLD:
        if f["cmp"] == "nonfinite":
            return f"{metric} is NaN or ±inf ({f['agg']} over {window})"
        symbol = COMPARISON_SYMBOLS[f["cmp"]]
        return f"{f['agg']}({metric}, {window}) {symbol} {format_number(f.get('threshold', 0.0))}"
    if type == EventType.RUN_METRIC_CHANGE:
        amount = float(f.get("amount", 0.0))
        shown = format_percent(amount) if f["change_type"] == "relative" else format_number(amount)
        verb = {
            "increase": "increases by",
            "decrease": "decreases by",
            "any": "changes by",
        }[f["direction"]]
        return (
            f"avg({metric}, {window}) vs prior avg({metric}, {f['prior_window']}) "
            f"{verb} >= {shown} ({f['change_type']})"
        )
    if type == EventType.RUN_METRIC_ZSCORE:
        threshold = float(f["threshold"])
        z = f"zscore({metric}, {window})"
        if f["direction"] == "above":
            return f"{z} > {format_number(threshold)}"
        if f["direction"] == "below":
            return f"{z} < {format_number(-threshold)}"
        return f"|{z}| > {format_number(threshold)}"
    raise KeyError(type)


def _join_or(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def describe_run_filters(filter: dict[str, Any]) -> str:
    parts = []
    if filter.get("run_name_regex"):
        parts.append(f"run name matches {filter['run_name_regex']}")
    if filter.get("run_user"):
        parts.append(f"run user is {filter['run_user']}")
    return " and ".join(parts)


def describe(scope: str, type: str, filter: dict[str, Any]) -> str:
    """The condition in words, e.g. ``avg(loss, 5) > 2.0`` or ``alias matches ^prod``.

    Run filters are appended: ``run state is failed and run name matches ^sweep-``."""
    spec = get_spec(scope, type)
    if spec.is_metric_event:
        main = describe_metric(type, filter)
    elif spec.type == EventType.RUN_STATE:
        main = f"run state is {_join_or(list(filter.get('states', [])))}"
    else:
        parts = []
        if spec.is_alias_event:
            parts.append(f"alias matches {filter.get('alias_regex', '')}")
        if spec.is_tag_event:
            parts.append(f"tag matches {filter.get('tag_regex', '')}")
        if filter.get("artifact_name_regex"):
            parts.append(f"artifact name matches {filter['artifact_name_regex']}")
        if filter.get("artifact_type"):
            parts.append(f"artifact type is {filter['artifact_type']}")
        if filter.get("collection"):
            parts.append(f"collection is {filter['collection']}")
        if not parts:
            return {
                EventType.CREATE_ARTIFACT: "any new artifact version",
                EventType.LINK_ARTIFACT: "any version linked to any collection",
                EventType.UNLINK_ARTIFACT: "any version unlinked from any collection",
            }.get(spec.type, spec.label)
        main = " and ".join(parts)
    runs = describe_run_filters(filter) if spec.is_run_event else ""
    return f"{main} and {runs}" if runs else main


# --- sample events -------------------------------------------------------------


def _path(name: str, args: list[str], fallback: str) -> str:
    """The site's path for a named page; ``fallback`` (the same shape) when the URL
    conf cannot be loaded, so a sample never depends on the web layer."""
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse(name, args=args)
    except (NoReverseMatch, ImportError):
        return fallback


def _sample_version(team: str, project: str, artifact_url: str) -> dict[str, Any]:
    """``version_data`` of a made-up ``sample-model:v3`` of ``project``."""
    return {
        "id": 0,
        "name": "sample-model",
        "type": "model",
        "project": project,
        "version": "v3",
        "index": 3,
        "ref": f"{team}/{project}/sample-model:v3",
        "stable_ref": "beacon-artifact://0",
        "digest": "0" * 64,
        "metadata": {"accuracy": 0.93, "framework": "torch"},
        "aliases": ["latest"],
        "tags": [],
        "url": artifact_url + "#v3",
    }


def sample_data(
    scope: str, type: str, *, team: str, scope_name: str, base_url: str
) -> dict[str, Any]:
    """A realistic ``Event.data`` for ``type`` (shapes as ``automations/subjects.py``).

    Used to test an automation that has not seen a real event yet."""
    spec = get_spec(scope, type)
    base = base_url.rstrip("/")
    if scope == PROJECT:
        run_id = "sample1"
        run_path = _path(
            "run_detail",
            [team, scope_name, run_id],
            f"/t/{team}/p/{scope_name}/runs/{run_id}/",
        )
        run = {
            "id": run_id,
            "name": "sample-run",
            "display_name": "sample-run",
            "state": "running",
            "author": "beacon-sample",
            "tags": ["sample"],
            "url": base + run_path,
        }
        if spec.type == EventType.RUN_STATE:
            run["state"] = "failed"
            return {"run": run, "state": "failed", "previous_state": "running"}
        if spec.is_metric_event:
            return {
                "run": run,
                "metrics": ["loss"],
                "first_step": 99,
                "last_step": 100,
                "rows": 2,
            }
        artifact_path = _path(
            "artifact_detail",
            [team, scope_name, "sample-model"],
            f"/t/{team}/p/{scope_name}/artifacts/sample-model/",
        )
        artifact = _sample_version(team, scope_name, base + artifact_path)
        if spec.type == EventType.ADD_ARTIFACT_ALIAS:
            artifact["aliases"] = ["latest", "production"]
            return {"artifact": artifact, "alias": "production"}
        if spec.is_tag_event:
            added = spec.type == EventType.ADD_ARTIFACT_TAG
            artifact["tags"] = ["validated"] if added else []
            return {"artifact": artifact, "tag": "validated"}
        return {"artifact": artifact}

    source = _sample_version(
        team, "sample-project", base + f"/t/{team}/p/sample-project/artifacts/sample-model/"
    )
    registry_path = _path("registry_detail", [team, scope_name], f"/t/{team}/r/{scope_name}/")
    linked = {
        "id": 0,
        "collection": "sample-collection",
        "version": "v1",
        "index": 1,
        "ref": f"{team}/{scope_name}/sample-collection:v1",
        "stable_ref": "beacon-artifact://0",
        "aliases": [],
        "tags": [],
        "metadata": source["metadata"],
        "url": base + registry_path + "#sample-collection",
    }
    if spec.is_collection_event:
        added = spec.type == EventType.ADD_COLLECTION_TAG
        return {
            "collection": "sample-collection",
            "collection_info": {
                "id": 0,
                "name": "sample-collection",
                "ref": f"{team}/{scope_name}/sample-collection",
                "tags": ["vision"] if added else [],
                "url": base + registry_path + "#sample-collection",
            },
            "tag": "vision",
        }
    data: dict[str, Any] = {"collection": "sample-collection", "linked": linked, "artifact": source}
    if spec.type == EventType.ADD_ARTIFACT_ALIAS:
        linked["aliases"] = ["staging"]
        data["alias"] = "staging"
    if spec.is_tag_event:
        linked["tags"] = ["validated"] if spec.type == EventType.ADD_ARTIFACT_TAG else []
        data["tag"] = "validated"
    return data
