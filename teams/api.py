"""Team-scoped API (admin): secrets and integrations.

Secret values go in and never come out. Integrations reference secrets by name.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.http import HttpRequest, HttpResponse
from ninja import Router, Status

from automations.integration_health import set_enabled
from config.api import ApiError
from config.pagination import paginate
from teams.access import Role, get_team
from teams.models import Integration, Secret, Team
from teams.schemas import (
    SECRET_FIELDS,
    SLACK_FIELDS,
    WEBHOOK_FIELDS,
    IntegrationIn,
    IntegrationPatch,
    SecretIn,
    check_names,
    check_secret_name,
    integration_problems,
    invalid,
)

router = Router(tags=["teams"])


# --- Secrets ---------------------------------------------------------------


def secret_out(secret: Secret) -> dict[str, Any]:
    return {
        "name": secret.name,
        "created_at": secret.created_at.isoformat(),
        "updated_at": secret.updated_at.isoformat(),
    }


@router.get(
    "/{team}/secrets", summary="List secrets (names and dates, never values; limit, offset, Link)"
)
def list_secrets(request: HttpRequest, response: HttpResponse, team: str) -> list[dict[str, Any]]:
    access = get_team(request.user, team, need=Role.ADMIN)
    secrets = access.team.secrets.order_by("name", "id")
    return [secret_out(s) for s in paginate(request, response, secrets)]


@router.put(
    "/{team}/secrets/{name}",
    response={200: dict, 201: dict},
    summary="Create (201) or rotate (200) a secret",
)
def put_secret(
    request: HttpRequest, team: str, name: str, payload: SecretIn
) -> tuple[int, dict[str, Any]]:
    access = get_team(request.user, team, need=Role.ADMIN)
    check_secret_name(name)
    secret = access.team.secrets.filter(name=name).first()
    if secret is not None:
        secret.rotate(payload.value)
        return Status(200, secret_out(secret))
    try:
        with transaction.atomic():
            secret = Secret.objects.create(team=access.team, name=name, value=payload.value)
    except IntegrityError:  # created concurrently: this request rotates it
        secret = access.team.secrets.get(name=name)
        secret.rotate(payload.value)
        return Status(200, secret_out(secret))
    return Status(201, secret_out(secret))


@router.delete("/{team}/secrets/{name}", response={204: None}, summary="Delete a secret")
def delete_secret(request: HttpRequest, team: str, name: str) -> tuple[int, None]:
    access = get_team(request.user, team, need=Role.ADMIN)
    check_secret_name(name)
    secret = access.team.secrets.filter(name=name).first()
    if secret is None:
        raise ApiError(404, "not_found", f"No secret named {name} in this team.")
    users = secret.used_by()
    if users:
        raise _secret_in_use(name, [i.name for i in users])
    try:
        secret.delete()
    except ProtectedError as exc:
        raise _secret_in_use(name, sorted(str(o.name) for o in exc.protected_objects)) from exc
    return Status(204, None)


def _secret_in_use(name: str, integrations: list[str]) -> ApiError:
    return ApiError(
        409,
        "in_use",
        f"Secret {name} is used by integration(s) {', '.join(integrations)}; "
        "change or delete them first.",
    )


# --- Integrations ----------------------------------------------------------


def integration_out(integration: Integration, *, signing_secret: bool) -> dict[str, Any]:
    def secret_name(field: str) -> str | None:
        secret = getattr(integration, field)
        return secret.name if secret is not None else None

    out: dict[str, Any] = {
        "id": str(integration.pk),
        "kind": integration.kind,
        "name": integration.name,
        "target": integration.target,
        "automations": sorted(a.name for a in integration.automations.all()),
        "enabled": integration.enabled,
        "disabled_at": integration.disabled_at.isoformat() if integration.disabled_at else None,
        "disabled_reason": integration.disabled_reason,
        "failing_since": (
            integration.failing_since.isoformat() if integration.failing_since else None
        ),
        "created_at": integration.created_at.isoformat(),
        "updated_at": integration.updated_at.isoformat(),
    }
    if integration.kind == Integration.Kind.WEBHOOK:
        out["url"] = integration.url
        out["access_token_secret"] = secret_name("access_token_secret")
        out["payload_secret"] = secret_name("payload_secret")
        out["mlflow_signatures"] = integration.mlflow_signatures
        if signing_secret:
            out["signing_secret"] = integration.signing_secret
    else:
        out["workspace"] = integration.workspace
        out["channel"] = integration.channel
        out["channel_id"] = integration.channel_id
        out["mode"] = integration.slack_mode
        out["webhook_url_secret"] = secret_name("webhook_url_secret")
        out["bot_token_secret"] = secret_name("bot_token_secret")
    return out


def _integrations(team: Team) -> Any:
    return team.integrations.select_related(*SECRET_FIELDS).prefetch_related("automations")


def _get_integration(team: Team, name: str) -> Integration:
    check_names(name=name)
    integration = _integrations(team).filter(name=name).first()
    if integration is None:
        raise ApiError(404, "not_found", f"No integration named {name} in this team.")
    return integration


def _state_of(integration: Integration) -> dict[str, Any]:
    fields = ("url", "workspace", "channel", "channel_id", "mlflow_signatures")
    state: dict[str, Any] = {f: getattr(integration, f) for f in fields}
    for field in SECRET_FIELDS:
        secret = getattr(integration, field)
        state[field] = secret.name if secret is not None else None
    return state


def _apply(team: Team, integration: Integration, state: dict[str, Any], given: set[str]) -> None:
    """Validate ``state`` for the integration's kind and copy it onto the integration."""
    kind = integration.kind
    fields = integration_problems(kind, state, given)
    secrets: dict[str, Secret | None] = {}
    for field in SECRET_FIELDS:
        name = state.get(field)
        if not name or field in fields:
            secrets[field] = None
            continue
        secrets[field] = team.secrets.filter(name=name).first()
        if secrets[field] is None:
            fields.setdefault(field, []).append(f"No secret named {name} in this team.")
    if fields:
        raise invalid(fields)
    if kind == Integration.Kind.WEBHOOK:
        integration.url = state["url"]
        for field in SLACK_FIELDS:
            setattr(integration, field, None if field in SECRET_FIELDS else "")
        integration.access_token_secret = secrets["access_token_secret"]
        integration.payload_secret = secrets["payload_secret"]
        integration.mlflow_signatures = bool(state.get("mlflow_signatures"))
    else:
        for field in WEBHOOK_FIELDS:
            setattr(integration, field, None if field in SECRET_FIELDS else "")
        integration.workspace = state["workspace"].strip()
        integration.channel = state["channel"].strip()
        integration.webhook_url_secret = secrets["webhook_url_secret"]
        integration.bot_token_secret = secrets["bot_token_secret"]
        # The channel id only means something with a bot token.
        bot = secrets["bot_token_secret"] is not None
        integration.channel_id = (state.get("channel_id") or "") if bot else ""


def _save(integration: Integration) -> None:
    try:
        with transaction.atomic():
            integration.save()
    except IntegrityError as exc:
        raise ApiError(
            409, "conflict", f"An integration named {integration.name} already exists."
        ) from exc


@router.get("/{team}/integrations", summary="List integrations (limit, offset, Link)")
def list_integrations(
    request: HttpRequest, response: HttpResponse, team: str
) -> list[dict[str, Any]]:
    access = get_team(request.user, team, need=Role.ADMIN)
    integrations = _integrations(access.team).order_by("name", "id")
    return [
        integration_out(i, signing_secret=False)
        for i in paginate(request, response, integrations)
    ]


@router.post("/{team}/integrations", response={201: dict}, summary="Create an integration")
def create_integration(
    request: HttpRequest, team: str, payload: IntegrationIn
) -> tuple[int, dict[str, Any]]:
    access = get_team(request.user, team, need=Role.ADMIN)
    if access.team.integrations.filter(name=payload.name).exists():
        raise ApiError(409, "conflict", f"An integration named {payload.name} already exists.")
    given = payload.model_fields_set
    integration = Integration(team=access.team, kind=payload.kind, name=payload.name)
    state = payload.model_dump()
    _apply(access.team, integration, state, given)
    _save(integration)
    return Status(201, integration_out(integration, signing_secret=True))


@router.get("/{team}/integrations/{name}", summary="One integration (with its signing secret)")
def get_integration(request: HttpRequest, team: str, name: str) -> dict[str, Any]:
    access = get_team(request.user, team, need=Role.ADMIN)
    return integration_out(_get_integration(access.team, name), signing_secret=True)


@router.patch("/{team}/integrations/{name}", summary="Change some fields of an integration")
def patch_integration(
    request: HttpRequest, team: str, name: str, payload: IntegrationPatch
) -> dict[str, Any]:
    access = get_team(request.user, team, need=Role.ADMIN)
    integration = _get_integration(access.team, name)
    changes = payload.model_dump(exclude_unset=True)
    enabled = changes.pop("enabled", None)
    if "enabled" in payload.model_fields_set and enabled is None:
        raise invalid({"enabled": ["Must be true or false."]})
    if "kind" in changes and changes.pop("kind") != integration.kind:
        raise invalid({"kind": ["The kind of an integration cannot change."]})
    if "name" in changes:
        new_name = changes.pop("name")
        if new_name is None:
            raise invalid({"name": ["Enter a name."]})
        if new_name != integration.name and access.team.integrations.filter(name=new_name).exists():
            raise ApiError(409, "conflict", f"An integration named {new_name} already exists.")
        integration.name = new_name
    state = {**_state_of(integration), **changes}
    _apply(access.team, integration, state, set(changes))
    _save(integration)
    if enabled is not None:
        set_enabled(integration, enabled, request.user)
    return integration_out(integration, signing_secret=True)


@router.delete("/{team}/integrations/{name}", response={204: None}, summary="Delete an integration")
def delete_integration(request: HttpRequest, team: str, name: str) -> tuple[int, None]:
    access = get_team(request.user, team, need=Role.ADMIN)
    integration = _get_integration(access.team, name)
    try:
        integration.delete()
    except ProtectedError as exc:
        users = sorted(str(o.name) for o in exc.protected_objects)
        raise ApiError(
            409,
            "in_use",
            f"Integration {name} is used by automation(s) {', '.join(users)}; "
            "change or delete them first.",
        ) from exc
    return Status(204, None)
