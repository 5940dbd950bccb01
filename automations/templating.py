"""``${var}`` templates inside JSON values, rendered without ever pasting JSON text.

A template is a JSON value (dict / list / str / number / bool / None). Only
string *values* are rendered; dict keys, numbers and the structure itself are
left alone, so a run named ``"},{`` cannot change a payload's shape.
Substitution is one pass: a substituted value containing ``${x}`` stays
literal. ``$${x}`` writes a literal ``${x}``.

``${artifact_metadata.KEY}`` reads one top-level metadata value; a key the
version does not have renders as an empty string. Any other variable the
caller did not supply is left as written (saving rejects unknown names, see
:func:`validate`). Secrets (``${ACCESS_TOKEN}``, ``${<SECRET_NAME>}``) are
ordinary variables supplied only at send time; :func:`mask_secrets` hides them
again in what gets stored (every encoding of them: see ``automations.masking``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from automations.masking import DEFAULT_MASK, masked_excerpt

METADATA_PREFIX = "artifact_metadata."
NAME = r"[A-Za-z_][A-Za-z0-9_]*"
# Metadata keys may hold any character but "}".
VARIABLE_RE = re.compile(r"\$\$\{|\$\{(" + NAME + r"|" + re.escape(METADATA_PREFIX) + r"[^}]+)\}")
# Anything that looks like a variable, to report malformed names.
LOOSE_RE = re.compile(r"\$\$\{|\$\{([^}]*)\}")


def _substitute(
    text: str, variables: Mapping[str, str], escape: Callable[[str], str] | None = None
) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:  # "$${" escape
            return "${"
        if name in variables:
            value = str(variables[name])
            return escape(value) if escape is not None else value
        if name.startswith(METADATA_PREFIX):
            return ""
        return match.group(0)

    return VARIABLE_RE.sub(replace, text)


def render(template: Any, variables: Mapping[str, str]) -> Any:
    """A copy of ``template`` with ``${name}`` replaced in every string value."""
    if isinstance(template, str):
        return _substitute(template, variables)
    if isinstance(template, dict):
        return {key: render(value, variables) for key, value in template.items()}
    if isinstance(template, list | tuple):
        return [render(item, variables) for item in template]
    return template


def render_text(
    text: str, variables: Mapping[str, str], *, escape: Callable[[str], str] | None = None
) -> str:
    """Render one text template (Slack title or message); ``escape`` is applied to each
    substituted value, never to the template's own text."""
    return _substitute(text or "", variables, escape)


def _strings(template: Any) -> Iterable[str]:
    if isinstance(template, str):
        yield template
    elif isinstance(template, dict):
        for value in template.values():
            yield from _strings(value)
    elif isinstance(template, list | tuple):
        for item in template:
            yield from _strings(item)


def referenced(template: Any) -> set[str]:
    """The variable names a template uses (in string values; escapes excluded)."""
    names: set[str] = set()
    for text in _strings(template):
        names.update(m.group(1) for m in VARIABLE_RE.finditer(text) if m.group(1))
    return names


def _is_allowed(name: str, allowed: set[str]) -> bool:
    if name in allowed:
        return True
    return name.startswith(METADATA_PREFIX) and METADATA_PREFIX in allowed


def _shown(name: str) -> str:
    return "${" + (name + "KEY" if name == METADATA_PREFIX else name) + "}"


def validate(template: Any, allowed: Iterable[str]) -> list[str]:
    """Messages for every unknown or malformed variable, listing the available ones.

    ``allowed`` may hold ``"artifact_metadata."``, which allows every
    ``${artifact_metadata.KEY}``."""
    allowed_list = list(allowed)
    allowed_set = set(allowed_list)
    available = ", ".join(_shown(name) for name in allowed_list) or "none"
    errors: list[str] = []
    seen: set[str] = set()
    for text in _strings(template):
        for match in LOOSE_RE.finditer(text):
            body = match.group(1)
            if body is None or body in seen:
                continue
            seen.add(body)
            if not VARIABLE_RE.fullmatch(match.group(0)):
                errors.append(
                    f"Invalid variable ${{{body}}}: names are letters, digits and _ "
                    f"(write $${{ for a literal ${{). Available: {available}."
                )
            elif not _is_allowed(body, allowed_set):
                errors.append(f"Unknown variable ${{{body}}}. Available: {available}.")
    return errors


def mask_secrets(value: Any, secrets: Iterable[str], mask: str = DEFAULT_MASK) -> Any:
    """A copy of a JSON value with every encoding of a secret inside its strings (keys
    too) masked by ``masking.masked_excerpt``; nothing is cut."""
    hidden = [s for s in secrets if s]
    if not hidden:
        return value

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return masked_excerpt(item, hidden, limit=None, mask=mask)
        if isinstance(item, dict):
            return {walk(k) if isinstance(k, str) else k: walk(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [walk(i) for i in item]
        return item

    return walk(value)
