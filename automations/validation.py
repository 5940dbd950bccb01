"""Validate an automation as the API writes it (also used by the HTML form).

``validate_automation(team, data)`` takes the API shape::

    {"name", "description", "enabled",
     "scope": {"type": "project" | "registry", "name"},
     "event": {"type", "filter": {...}},
     "action": {"type": "WEBHOOK", "integration", "payload"}
            | {"type": "SLACK_NOTIFICATION", "integration", "title", "message", "severity"}}

and returns ``(cleaned, errors)``: model field values, and messages keyed by
dotted paths (``"event.filter.window"``, ``"action.payload"``). With
``instance`` the data is a partial update merged over the automation.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError

from automations.actions import ACTION_KINDS
from automations.events import SCOPES, FilterError, canonical_type, validate_filter
from automations.models import Automation
from automations.templating import validate as validate_template
from automations.variables import allowed_variables
from projects.models import Project
from registries.models import Registry
from teams.models import Integration, Team, name_validator

SEVERITIES = ("INFO", "WARN", "ERROR")
MAX_TITLE = 150
MAX_MESSAGE = 3000
MAX_DESCRIPTION = 2000
MAX_PAYLOAD_CHARS = 64 * 1024

Errors = dict[str, list[str]]


def automation_as_data(automation: Automation) -> dict[str, Any]:
    """The API shape of a saved automation (what ``validate_automation`` accepts)."""
    action: dict[str, Any] = {
        "type": automation.action_type,
        "integration": automation.integration.name,
    }
    config = automation.action_config or {}
    if automation.action_type == Automation.ActionType.WEBHOOK:
        action["payload"] = config.get("payload")
    else:
        action.update(
            title=config.get("title", ""),
            message=config.get("message", ""),
            severity=config.get("severity", "INFO"),
        )
    scope = automation.scope
    return {
        "name": automation.name,
        "description": automation.description,
        "enabled": automation.enabled,
        "scope": {"type": automation.scope_type, "name": scope.name},
        "event": {"type": automation.event_type, "filter": dict(automation.filter or {})},
        "action": action,
    }


def merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``changes`` over ``base``; ``scope``, ``event`` and ``action`` merge one level deep.

    A changed event type or action type starts from a blank filter/settings."""
    merged = dict(base)
    for key, value in changes.items():
        old = base.get(key)
        nested = key in ("scope", "event", "action")
        if nested and isinstance(value, dict) and isinstance(old, dict):
            if "type" in value and value["type"] != old.get("type"):
                old = {"type": old.get("type")} if key == "scope" else {}
            merged[key] = {**old, **value}
        else:
            merged[key] = value
    return merged


def _section(data: dict[str, Any], key: str, errors: Errors) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        errors[key] = ["This field is required."]
        return {}
    if not isinstance(value, dict):
        errors[key] = ["Must be an object."]
        return {}
    return value


def _clean_name(data: dict[str, Any], errors: Errors) -> str:
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        errors["name"] = ["Must be a string."]
        return ""
    if not name or not name.strip():
        errors["name"] = ["This field is required."]
        return ""
    name = name.strip()
    try:
        name_validator(name)
    except ValidationError as exc:
        errors["name"] = list(exc.messages)
    return name


def _clean_scope(
    team: Team, data: dict[str, Any], errors: Errors
) -> tuple[str, Project | None, Registry | None]:
    scope = _section(data, "scope", errors)
    if not scope:
        return "", None, None
    kind, name = scope.get("type"), scope.get("name")
    if kind not in SCOPES:
        errors["scope.type"] = [f"Choose one of {', '.join(SCOPES)}."]
        return "", None, None
    if name is not None and not isinstance(name, str):
        errors["scope.name"] = ["Must be a string."]
        return kind, None, None
    if not name:
        errors["scope.name"] = ["This field is required."]
        return kind, None, None
    model = Project if kind == "project" else Registry
    found = model.objects.filter(team=team, name=name).first()
    if found is None:
        errors["scope.name"] = [f"No {kind} named '{name}' in this team."]
        return kind, None, None
    return (kind, found, None) if kind == "project" else (kind, None, found)


def _clean_event(scope: str, data: dict[str, Any], errors: Errors) -> tuple[str, dict[str, Any]]:
    event = _section(data, "event", errors)
    if not event:
        return "", {}
    # W&B's wire names (LINK_MODEL, RUN_METRIC) are accepted and stored as Beacon's.
    type = canonical_type(event.get("type"))
    if not scope:
        return str(type or ""), {}
    try:
        return str(type), validate_filter(scope, str(type), event.get("filter"))
    except FilterError as exc:
        for key, messages in exc.fields.items():
            path = {"type": "event.type", "filter": "event.filter"}.get(key, f"event.filter.{key}")
            errors.setdefault(path, []).extend(messages)
        return str(type), {}


def _clean_payload(raw: Any, errors: Errors) -> Any:
    if isinstance(raw, str):
        if not raw.strip():
            return None
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            errors["action.payload"] = [f"The payload is not valid JSON: {exc}."]
            return None
    if raw in (None, {}, []):
        return None
    if not isinstance(raw, dict | list):
        errors["action.payload"] = [
            "The payload must be a JSON object (or empty for the full event)."
        ]
        return None
    if len(json.dumps(raw)) > MAX_PAYLOAD_CHARS:
        errors["action.payload"] = [f"The payload must be under {MAX_PAYLOAD_CHARS // 1024} KB."]
        return None
    return raw


def _clean_text(action: dict[str, Any], key: str, limit: int, errors: Errors) -> str:
    value = action.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[f"action.{key}"] = ["Enter text."]
        return ""
    if len(value) > limit:
        errors[f"action.{key}"] = [f"At most {limit} characters."]
    return value


def _clean_action(
    team: Team, scope: str, event_type: str, data: dict[str, Any], errors: Errors
) -> tuple[str, Integration | None, dict[str, Any]]:
    action = _section(data, "action", errors)
    if not action:
        return "", None, {}
    type = action.get("type")
    if type not in ACTION_KINDS:
        errors["action.type"] = [f"Choose one of {', '.join(ACTION_KINDS)}."]
        return "", None, {}
    kind = ACTION_KINDS[type]
    name = action.get("integration")
    integration = None
    if not isinstance(name, str) or not name:
        errors["action.integration"] = ["This field is required."]
    else:
        integration = Integration.objects.filter(team=team, name=name).select_related(
            "payload_secret"
        ).first()
        if integration is None:
            errors["action.integration"] = [f"No integration named '{name}' in this team."]
        elif integration.kind != kind:
            errors["action.integration"] = [
                f"'{name}' is a {integration.get_kind_display()} integration; "
                f"{type} needs a {Integration.Kind(kind).label} one."
            ]
            integration = None
    known_type = bool(scope and event_type and "event.type" not in errors)
    if type == Automation.ActionType.WEBHOOK:
        payload = _clean_payload(action.get("payload"), errors)
        if payload is not None and known_type and integration is not None:
            allowed = allowed_variables(
                scope, event_type,
                payload_secret_name=(
                    integration.payload_secret.name if integration.payload_secret else None
                ),
                has_access_token=integration.access_token_secret_id is not None,
            )
            problems = validate_template(payload, allowed)
            if problems:
                errors["action.payload"] = problems
        return type, integration, {"payload": payload}
    severity = action.get("severity") or "INFO"
    if severity not in SEVERITIES:
        errors["action.severity"] = [f"Choose one of {', '.join(SEVERITIES)}."]
    config = {
        "title": _clean_text(action, "title", MAX_TITLE, errors),
        "message": _clean_text(action, "message", MAX_MESSAGE, errors),
        "severity": severity,
    }
    if known_type:
        allowed = allowed_variables(scope, event_type)
        for key in ("title", "message"):
            if config[key] and f"action.{key}" not in errors:
                problems = validate_template(config[key], allowed)
                if problems:
                    errors[f"action.{key}"] = problems
    return type, integration, config


def validate_automation(
    team: Team, data: dict[str, Any], *, instance: Automation | None = None
) -> tuple[dict[str, Any], Errors]:
    """Clean an automation body; returns ``(model field values, errors by field path)``.

    Checks the name, that the scope exists in the team, the event type for the
    scope, the filter (fields, types, ranges, RE2 patterns), the action type, that
    the integration exists in the team and is of the right kind, the severity,
    and that templates use only the variables of the event type."""
    errors: Errors = {}
    if not isinstance(data, dict):
        return {}, {"body": ["Send a JSON object."]}
    if instance is not None:
        data = merge(automation_as_data(instance), data)
    name = _clean_name(data, errors)
    description = data.get("description") or ""
    if not isinstance(description, str):
        errors["description"] = ["Enter text."]
        description = ""
    elif len(description) > MAX_DESCRIPTION:
        errors["description"] = [f"At most {MAX_DESCRIPTION} characters."]
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        errors["enabled"] = ["Must be true or false."]
    if name and "name" not in errors:
        taken = Automation.objects.filter(team=team, name=name)
        if instance is not None:
            taken = taken.exclude(pk=instance.pk)
        if taken.exists():
            errors["name"] = [f"An automation named '{name}' already exists in this team."]
    scope, project, registry = _clean_scope(team, data, errors)
    event_type, filter = _clean_event(scope, data, errors)
    action_type, integration, config = _clean_action(team, scope, event_type, data, errors)
    cleaned = {
        "name": name,
        "description": description,
        "enabled": enabled,
        "scope_type": scope,
        "project": project,
        "registry": registry,
        "event_type": event_type,
        "filter": filter,
        "action_type": action_type,
        "integration": integration,
        "action_config": config,
    }
    return ({} if errors else cleaned), errors
