"""MLflow's search language: filters (``metrics.acc > 0.9 AND params.lr = '0.1'``),
``ORDER BY`` clauses and page tokens.

Filters are parsed once into a predicate over a flat view of each entity
(``{"metrics": {...}, "params": {...}, "tags": {...}, "attributes": {...}}``)."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlflow_api.errors import invalid

if TYPE_CHECKING:
    from mlflow_api.calls import Call

Entity = dict[str, dict[str, Any]]
Predicate = Callable[[Entity], bool]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<op>!=|>=|<=|=|>|<)
      | (?P<lparen>\() | (?P<rparen>\)) | (?P<comma>,)
      | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<number>[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?))(?![\w.])
      | (?P<ident>(?:[A-Za-z_][\w]*\.)?(?:`[^`]+`|"[^"]+"|[\w.\-/:]+))
    )""",
    re.VERBOSE,
)
_PREFIXES = {
    "metrics": "metrics", "metric": "metrics",
    "params": "params", "param": "params", "parameters": "params", "parameter": "params",
    "tags": "tags", "tag": "tags",
    "attributes": "attributes", "attribute": "attributes", "attr": "attributes",
    "run": "attributes",
}
RUN_ATTRIBUTES = {
    "status", "run_name", "start_time", "end_time", "run_id", "user_id",
    "artifact_uri", "lifecycle_stage", "created", "Created",
}
_ATTRIBUTE_ALIASES = {"created": "start_time", "Created": "start_time"}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str


def tokenize(text: str) -> list[Token]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise invalid(f"Invalid filter near {text[pos:pos + 30]!r}.")
        kind = m.lastgroup or ""
        tokens.append(Token(kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return tokens


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "`\"'":
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def split_identifier(text: str, default: str) -> tuple[str, str]:
    """``metrics.`a b``` → ("metrics", "a b"); a bare name is of ``default``."""
    head, dot, rest = text.partition(".")
    if dot and head in _PREFIXES:
        return _PREFIXES[head], _unquote(rest)
    if dot and head.lower() in _PREFIXES:
        return _PREFIXES[head.lower()], _unquote(rest)
    return default, _unquote(text)


def _like(pattern: str, value: str, *, ignore_case: bool) -> bool:
    regex = "".join(
        ".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern
    )
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL) \
        is not None


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "=":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if isinstance(left, float) and math.isnan(left):
        return False
    return {
        ">": lambda: left > right, ">=": lambda: left >= right,
        "<": lambda: left < right, "<=": lambda: left <= right,
    }[op]()


def _clause(tokens: list[Token], pos: int, default: str) -> tuple[Predicate, int]:
    if pos >= len(tokens) or tokens[pos].kind != "ident":
        raise invalid("Invalid filter: expected an identifier like metrics.acc or params.lr.")
    kind, key = split_identifier(tokens[pos].text, default)
    if kind == "attributes":
        key = _ATTRIBUTE_ALIASES.get(key, key)
    pos += 1
    if pos >= len(tokens):
        raise invalid(f"Invalid filter: no comparison after {key!r}.")
    word = tokens[pos].text.upper() if tokens[pos].kind == "ident" else ""
    if word == "NOT" and pos + 1 < len(tokens) and tokens[pos + 1].text.upper() == "IN":
        word, pos = "NOT IN", pos + 1
    if word in ("LIKE", "ILIKE"):
        pos += 1
        if pos >= len(tokens) or tokens[pos].kind != "string":
            raise invalid(f"Invalid filter: {word} needs a quoted pattern.")
        pattern, ignore_case = _unquote(tokens[pos].text), word == "ILIKE"

        def like(entity: Entity) -> bool:
            value = entity[kind].get(key)
            return isinstance(value, str) and _like(pattern, value, ignore_case=ignore_case)

        return like, pos + 1
    if word in ("IN", "NOT IN"):
        pos += 1
        if pos >= len(tokens) or tokens[pos].kind != "lparen":
            raise invalid("Invalid filter: IN needs a list like ('a', 'b').")
        values: list[str] = []
        pos += 1
        while pos < len(tokens) and tokens[pos].kind != "rparen":
            if tokens[pos].kind == "string":
                values.append(_unquote(tokens[pos].text))
            elif tokens[pos].kind != "comma":
                raise invalid("Invalid filter: IN lists hold quoted strings.")
            pos += 1
        if pos >= len(tokens):
            raise invalid("Invalid filter: unclosed IN list.")
        negate = word == "NOT IN"

        def within(entity: Entity) -> bool:
            value = entity[kind].get(key)
            return value is not None and ((value in values) != negate)

        return within, pos + 1
    if tokens[pos].kind != "op":
        raise invalid(f"Invalid filter: unknown comparator {tokens[pos].text!r}.")
    op = tokens[pos].text
    pos += 1
    if pos >= len(tokens) or tokens[pos].kind not in ("string", "number"):
        raise invalid(f"Invalid filter: {key!r} {op} needs a value.")
    raw = tokens[pos]
    numeric = kind == "metrics" or (
        kind == "attributes" and (key in ("start_time", "end_time") or raw.kind == "number")
    )
    if numeric:
        try:
            wanted: Any = float(_unquote(raw.text))
        except ValueError:
            raise invalid(f"Invalid filter: {key!r} compares with a number.") from None
    else:
        if raw.kind != "string":
            raise invalid(
                f"Invalid filter: {kind}.{key} compares with a quoted string, e.g. '0.1'."
            )
        wanted = _unquote(raw.text)
        if op not in ("=", "!="):
            raise invalid(f"Invalid filter: {kind} support only =, !=, LIKE and ILIKE.")

    def compare(entity: Entity) -> bool:
        value = entity[kind].get(key)
        if value is None or isinstance(value, str) != isinstance(wanted, str):
            return False
        return _compare(op, value, wanted)

    return compare, pos + 1


def parse_filter(text: str, default: str = "attributes") -> Predicate:
    """``a AND b AND …`` as one predicate; an empty filter matches everything."""
    tokens = tokenize(text or "")
    clauses: list[Predicate] = []
    pos = 0
    while pos < len(tokens):
        clause, pos = _clause(tokens, pos, default)
        clauses.append(clause)
        if pos < len(tokens):
            if tokens[pos].kind != "ident" or tokens[pos].text.upper() != "AND":
                raise invalid(f"Invalid filter: expected AND, got {tokens[pos].text!r}.")
            pos += 1
            if pos >= len(tokens):
                raise invalid("Invalid filter: nothing after AND.")
    return lambda entity: all(c(entity) for c in clauses)


def parse_experiment_filter(text: str) -> Callable[[dict[str, Any]], bool]:
    predicate = parse_filter(text)

    def matches(experiment: dict[str, Any]) -> bool:
        return predicate({
            "attributes": {
                "name": experiment["name"],
                "experiment_id": experiment["experiment_id"],
                "creation_time": experiment["creation_time"],
                "last_update_time": experiment["last_update_time"],
            },
            "tags": {t["key"]: t["value"] for t in experiment["tags"]},
            "metrics": {},
            "params": {},
        })

    return matches


def parse_order_by(clauses: list[Any], *, entity: str) -> list[tuple[str, bool]]:
    """``["metrics.acc DESC", "start_time"]`` →
    ``[("metrics.acc", False), ("attributes.start_time", True)]``."""
    out = []
    for clause in clauses:
        if not isinstance(clause, str) or not clause.strip():
            raise invalid("order_by clauses must be non-empty strings.")
        text = clause.strip()
        ascending = True
        upper = text.upper()
        if upper.endswith(" DESC"):
            ascending, text = False, text[:-5].strip()
        elif upper.endswith(" ASC"):
            text = text[:-4].strip()
        if entity == "experiment":
            if text not in ("name", "experiment_id", "creation_time", "last_update_time"):
                raise invalid(f"Invalid order_by clause {clause!r}.")
            out.append((text, ascending))
            continue
        kind, key = split_identifier(text, "attributes")
        key = _ATTRIBUTE_ALIASES.get(key, key) if kind == "attributes" else key
        if kind == "attributes" and key not in RUN_ATTRIBUTES:
            raise invalid(f"Invalid order_by clause {clause!r}.")
        out.append((f"{kind}.{key}", ascending))
    return out


def sort_entities(entities: list[Entity], order: list[tuple[str, bool]]) -> list[Entity]:
    """Stable multi-key sort; entities without the key come last either way."""
    for field, ascending in reversed(order):
        kind, _, key = field.partition(".")
        present = [e for e in entities if e[kind].get(key) is not None]
        missing = [e for e in entities if e[kind].get(key) is None]
        present.sort(key=lambda e, k=kind, f=key: _sortable(e[k][f]), reverse=not ascending)
        entities = present + missing
    return entities


def _sortable(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return math.inf
    return value


@dataclass(frozen=True)
class Page:
    offset: int
    size: int

    @classmethod
    def from_call(cls, call: Call, *, default: int, limit: int) -> Page:
        size = call.int("max_results", default=default) or default
        if size < 1 or size > limit:
            raise invalid(f"max_results must be between 1 and {limit}.")
        token = call.str("page_token")
        offset = 0
        if token:
            try:
                offset = int(json.loads(base64.b64decode(token, validate=True))["offset"])
            except (binascii.Error, ValueError, KeyError, TypeError):
                raise invalid("Invalid page token.") from None
            if offset < 0:
                raise invalid("Invalid page token.")
        return cls(offset, size)

    def cut(self, items: list[Any]) -> tuple[list[Any], str]:
        chunk = items[self.offset:self.offset + self.size]
        end = self.offset + self.size
        return chunk, page_token(end) if end < len(items) else ""


def page_token(offset: int) -> str:
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()
