"""Automations, their executions, and events over the JSON API (API.md).

Admins write; every member of the team reads. Bodies are validated by
``automations.validation`` so the API and the HTML form say the same things.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from ninja import Body, Query, Router, Schema, Status

from automations.events import CATALOG, SCOPES, canonical_type
from automations.models import Attempt, Automation, Event, Execution
from automations.operations import NotRedeliverable, redeliver, run_test
from automations.operations import test_integration as send_integration_test
from automations.validation import automation_as_data, validate_automation
from config.api import ApiError, UnstorableBodyError, parse_json_object
from config.pagination import paginate
from teams.access import Role, TeamAccess, get_team
from teams.models import shown_target, shown_text

router = Router(tags=["automations"])

# Executions and events carry payloads and attempts: smaller pages than other lists.
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(Schema):
    """Declares ``limit``/``offset`` (validated and read by ``config.pagination``)."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0


def page_of(request: HttpRequest, response: HttpResponse, items: Any) -> list[Any]:
    return paginate(request, response, items, default=DEFAULT_LIMIT, maximum=MAX_LIMIT)


def iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def pk_of(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise ApiError(404, "not_found", "Not found.")
    return int(raw)


# --- shapes -----------------------------------------------------------------------


def automation_out(automation: Automation) -> dict[str, Any]:
    return {
        "id": str(automation.pk),
        **automation_as_data(automation),
        "created_by": automation.created_by.username if automation.created_by_id else None,
        "created_at": iso(automation.created_at),
        "updated_at": iso(automation.updated_at),
    }


def attempt_out(attempt: Attempt, shown: Callable[[str], str]) -> dict[str, Any]:
    return {
        "number": attempt.number,
        "at": iso(attempt.at),
        "ok": attempt.ok,
        "status": attempt.status_code,
        "duration_ms": attempt.duration_ms,
        "response": shown(attempt.response_excerpt),
        "error": shown(attempt.error),
    }


def execution_out(execution: Execution, access: TeamAccess) -> dict[str, Any]:
    """One execution; a webhook's URL is its host only unless the reader is an admin."""
    event = execution.event
    integration = execution.automation.integration

    def shown(text: str) -> str:
        return shown_text(text, integration, full=access.can_manage)

    return {
        "id": str(execution.pk),
        "automation": str(execution.automation_id),
        "status": execution.status,
        "trigger": execution.trigger,
        "redelivery_of": str(execution.redelivery_of_id) if execution.redelivery_of_id else None,
        "event": {
            "id": str(event.pk),
            # Metric events are stored once per history call ("RUN_METRIC"); an
            # execution reports the catalog type its automation reacted to.
            "type": (
                execution.automation.event_type if event.type == "RUN_METRIC" else event.type
            ),
            "source_type": event.type,
            "subject": event.subject,
            "author": event.author_name,
            "created_at": iso(event.created_at),
            "sample": event.sample,
        },
        "match": execution.match,
        "attempts": [attempt_out(a, shown) for a in execution.attempts.all()],
        "payload": execution.payload,
        "target": shown_target(execution.target, full=access.can_manage),
        "webhook_id": execution.webhook_id,
        "error": shown(execution.error),
        "next_attempt_at": iso(execution.next_attempt_at),
        "created_at": iso(execution.created_at),
        "finished_at": iso(execution.finished_at),
    }


def event_out(event: Event, executions: dict[int, Execution]) -> dict[str, Any]:
    matched, not_matched = [], []
    for evaluation in event.evaluations or []:
        item = {
            "automation": str(evaluation.get("automation")),
            "name": evaluation.get("name", ""),
            "reason": evaluation.get("reason", ""),
        }
        if evaluation.get("matched"):
            execution = executions.get(int(evaluation.get("automation") or 0))
            item["execution"] = str(execution.pk) if execution else None
            item["status"] = execution.status if execution else None
            matched.append(item)
        else:
            not_matched.append(item)
    scope = event.scope
    return {
        "id": str(event.pk),
        "type": event.type,
        "scope": {"type": event.scope_type, "name": scope.name if scope is not None else ""},
        "subject": event.subject,
        "url": event.subject_url,
        "author": event.author_name,
        "created_at": iso(event.created_at),
        "processed_at": iso(event.processed_at),
        "data": event.data,
        "matched": matched,
        "not_matched": not_matched,
    }


# --- helpers --------------------------------------------------------------------------


def read_body(request: HttpRequest) -> dict[str, Any]:
    """An optional JSON object body (a bodiless or form POST has none)."""
    raw = request.body.strip()
    if not raw or (request.content_type != "application/json" and not raw.startswith(b"{")):
        return {}
    try:
        return parse_json_object(request.body)
    except UnstorableBodyError as exc:
        raise ApiError(400, "invalid", "The request body is not valid.",
                       {"body": [exc.message]}) from exc
    except ValueError as exc:
        raise ApiError(400, "invalid", f"The body is not a JSON object: {exc}.") from exc


def scope_filter(access: TeamAccess, raw: str | None) -> dict[str, Any]:
    """``project:{name}`` / ``registry:{name}`` → queryset filter kwargs."""
    if not raw:
        return {}
    kind, _, name = raw.partition(":")
    if kind not in SCOPES or not name:
        raise ApiError(400, "invalid", "The request is not valid.",
                       {"scope": ["Use project:{name} or registry:{name}."]})
    found = getattr(access.team, "projects" if kind == "project" else "registries").filter(
        name=name
    ).first()
    if found is None:
        raise ApiError(404, "not_found", f"No {kind} named '{name}' in this team.")
    return {kind: found}


def get_automation(access: TeamAccess, id: str) -> Automation:
    automation = (
        Automation.objects.select_related("integration", "project", "registry", "created_by",
                                          "team")
        .filter(team=access.team, pk=pk_of(id))
        .first()
    )
    if automation is None:
        raise ApiError(404, "not_found", "No such automation.")
    return automation


def invalid(errors: dict[str, list[str]]) -> ApiError:
    return ApiError(400, "invalid", "The automation is not valid.", errors)


def duplicate(name: str) -> ApiError:
    return ApiError(409, "conflict", f"An automation named '{name}' already exists in this team.",
                    {"name": ["This name is taken."]})


def refuse_taken_name(
    access: TeamAccess, body: dict[str, Any], instance: Automation | None = None
) -> None:
    """409 when the body names another automation of the team (API.md: names are
    unique per team), before validation says so as a 400."""
    name = body.get("name")
    if not isinstance(name, str):
        return
    taken = Automation.objects.filter(team=access.team, name=name.strip())
    if instance is not None:
        taken = taken.exclude(pk=instance.pk)
    if taken.exists():
        raise duplicate(name.strip())


def executions_of(queryset: Any) -> Any:
    return queryset.select_related("event", "automation__integration").prefetch_related(
        "attempts"
    )


# --- automations ------------------------------------------------------------------------


@router.get(
    "/{team}/automations",
    summary="List automations (optionally of one scope; limit, offset, Link)",
)
def list_automations(
    request: HttpRequest, response: HttpResponse, team: str, scope: str | None = None
) -> list[dict[str, Any]]:
    access = get_team(request.user, team)
    automations = Automation.objects.filter(
        team=access.team, **scope_filter(access, scope)
    ).select_related("integration", "project", "registry", "created_by")
    ordered = automations.order_by(*Automation._meta.ordering, "id")
    return [automation_out(a) for a in paginate(request, response, ordered)]


@router.post("/{team}/automations", response={201: dict}, summary="Create an automation")
def create_automation(
    request: HttpRequest, team: str, body: dict[str, Any] = Body(...)  # noqa: B008
) -> tuple[int, dict[str, Any]]:
    access = get_team(request.user, team, need=Role.ADMIN)
    refuse_taken_name(access, body)
    cleaned, errors = validate_automation(access.team, body)
    if errors:
        refuse_taken_name(access, body)  # a concurrent request may have taken it meanwhile
        raise invalid(errors)
    try:
        with transaction.atomic():
            automation = Automation.objects.create(
                team=access.team, created_by=request.user, **cleaned
            )
    except IntegrityError as exc:
        raise duplicate(cleaned["name"]) from exc
    return Status(201, automation_out(automation))


@router.get("/{team}/automations/{id}", summary="One automation")
def get_automation_detail(request: HttpRequest, team: str, id: str) -> dict[str, Any]:
    access = get_team(request.user, team)
    return automation_out(get_automation(access, id))


@router.patch("/{team}/automations/{id}", summary="Change some fields of an automation")
def update_automation(
    request: HttpRequest, team: str, id: str, body: dict[str, Any] = Body(...)  # noqa: B008
) -> dict[str, Any]:
    access = get_team(request.user, team, need=Role.ADMIN)
    automation = get_automation(access, id)
    refuse_taken_name(access, body, automation)
    cleaned, errors = validate_automation(access.team, body, instance=automation)
    if errors:
        refuse_taken_name(access, body, automation)  # taken meanwhile by a concurrent request
        raise invalid(errors)
    for field, value in cleaned.items():
        setattr(automation, field, value)
    try:
        with transaction.atomic():
            automation.save()
    except IntegrityError as exc:
        raise duplicate(cleaned["name"]) from exc
    return automation_out(automation)


@router.delete("/{team}/automations/{id}", response={204: None}, summary="Delete an automation")
def delete_automation(request: HttpRequest, team: str, id: str) -> tuple[int, None]:
    access = get_team(request.user, team, need=Role.ADMIN)
    get_automation(access, id).delete()
    return Status(204, None)


@router.get("/{team}/automations/{id}/executions", summary="Executions, newest first")
def list_executions(
    request: HttpRequest, response: HttpResponse, team: str, id: str, page: Query[Page]
) -> list[dict[str, Any]]:
    access = get_team(request.user, team)
    automation = get_automation(access, id)
    executions = executions_of(automation.executions.order_by("-created_at", "-id"))
    return [execution_out(e, access) for e in page_of(request, response, executions)]


@router.post("/{team}/automations/{id}/test",
             summary="Run the action now on the latest matching event or a sample")
def test_automation(request: HttpRequest, team: str, id: str) -> dict[str, Any]:
    access = get_team(request.user, team, need=Role.ADMIN)
    execution = run_test(get_automation(access, id), request.user)
    return execution_out(executions_of(Execution.objects).get(pk=execution.pk), access)


@router.get("/{team}/executions/{id}", summary="One execution")
def get_execution(request: HttpRequest, team: str, id: str) -> dict[str, Any]:
    access = get_team(request.user, team)
    execution = executions_of(Execution.objects).filter(
        automation__team=access.team, pk=pk_of(id)
    ).first()
    if execution is None:
        raise ApiError(404, "not_found", "No such execution.")
    return execution_out(execution, access)


@router.post("/{team}/executions/{id}/redeliver", response={202: dict},
             summary="Deliver an execution's event again (a new execution)")
def redeliver_execution(request: HttpRequest, team: str, id: str) -> tuple[int, dict[str, Any]]:
    access = get_team(request.user, team, need=Role.ADMIN)
    execution = Execution.objects.select_related("automation__integration", "event").filter(
        automation__team=access.team, pk=pk_of(id)
    ).first()
    if execution is None:
        raise ApiError(404, "not_found", "No such execution.")
    try:
        again = redeliver(execution, request.user)
    except NotRedeliverable as exc:
        raise ApiError(409, "conflict", str(exc)) from exc
    return Status(202, execution_out(executions_of(Execution.objects).get(pk=again.pk), access))


# --- events --------------------------------------------------------------------------------


@router.get("/{team}/events", summary="Events, newest first, with what they matched and why not")
def list_events(
    request: HttpRequest, response: HttpResponse, team: str, page: Query[Page],
    scope: str | None = None, type: str | None = None,
) -> list[dict[str, Any]]:
    access = get_team(request.user, team)
    events = Event.objects.filter(team=access.team, sample=False, **scope_filter(access, scope))
    if type:
        # A catalog type (RUN_METRIC_THRESHOLD) means the events it listens to (RUN_METRIC).
        wanted = canonical_type(type)
        sources = {spec.source for (_, t), spec in CATALOG.items() if t == wanted} or {type}
        events = events.filter(type__in=sources)
    ordered = events.select_related("project", "registry").order_by("-created_at", "-id")
    rows = page_of(request, response, ordered)
    executions: dict[int, dict[int, Execution]] = defaultdict(dict)
    for e in Execution.objects.filter(
        event__in=rows, trigger=Execution.Trigger.EVENT
    ).only("id", "event_id", "automation_id", "status"):
        executions[e.event_id][e.automation_id] = e
    return [event_out(event, executions[event.pk]) for event in rows]


# --- integrations -----------------------------------------------------------------------------


@router.post("/{team}/integrations/{name}/test", summary="Send a test delivery now")
def test_integration_endpoint(request: HttpRequest, team: str, name: str) -> dict[str, Any]:
    access = get_team(request.user, team, need=Role.ADMIN)
    integration = access.team.integrations.filter(name=name).select_related(
        "access_token_secret", "payload_secret", "webhook_url_secret", "bot_token_secret"
    ).first()
    if integration is None:
        raise ApiError(404, "not_found", "No such integration.")
    body = read_body(request)
    payload = body.get("payload")
    if payload is not None and not isinstance(payload, dict | list):
        raise ApiError(400, "invalid", "The request is not valid.",
                       {"payload": ["Send a JSON object."]})
    result = send_integration_test(integration, payload)
    return {
        "ok": result.ok,
        "status": result.status,
        "response": result.response_excerpt,
        "error": result.error,
        "duration_ms": result.duration_ms,
    }
