"""The guided automation form: create, edit, inline errors, partials, presets, test, secrets."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from automations import templating, variables
from automations.events import specs_for_scope
from automations.models import Automation, Execution, Scope
from automations.presets import presets_for
from projects.models import Project, Run
from registries.models import Registry
from teams.models import Integration, Secret, Team
from tests.support.automation_fixtures import SECRET_VALUE
from tests.support.receiver import Receiver
from tests.support.web import Clients

NEW_PROJECT = reverse("automation_new", kwargs={"slug": "acme", "project": "mnist"})
NEW_REGISTRY = reverse("automation_new", kwargs={"slug": "acme", "registry": "model"})
PREVIEW = reverse("automation_preview", args=["acme"])
FIELDS = reverse("automation_filter_fields", args=["acme"])


def webhook_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_type": "RUN_METRIC_THRESHOLD",
        "filter_metric": "loss",
        "filter_window": "5",
        "filter_agg": "avg",
        "filter_cmp": "gt",
        "filter_threshold": "2.0",
        "filter_run_name_regex": "^sweep-",
        "action_type": "WEBHOOK",
        "webhook_integration": "deploy",
        "payload": '{"text": "${run_name}: ${metric_filter}", "auth": "${ACCESS_TOKEN}"}',
        "severity": "INFO",
        "name": "loss-too-high",
        "description": "Tell the deploy hook",
        "enabled": "on",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def test_admin_creates_a_webhook_automation_through_the_form(
    admin: User, project: Project, webhook: Integration, client_for: Clients
) -> None:
    response = client_for(admin).post(NEW_PROJECT, webhook_body())
    automation = Automation.objects.get(name="loss-too-high")
    assert response.status_code == 302 and response["Location"] == automation.get_absolute_url()
    assert automation.project == project and automation.scope_type == Scope.PROJECT
    assert automation.event_type == "RUN_METRIC_THRESHOLD"
    assert automation.filter == {
        "metric": "loss", "window": 5, "agg": "avg", "cmp": "gt", "threshold": 2.0,
        "run_name_regex": "^sweep-",
    }
    assert automation.integration == webhook and automation.enabled
    assert automation.action_config["payload"]["auth"] == "${ACCESS_TOKEN}"
    assert automation.created_by == admin


def test_admin_creates_a_registry_slack_automation(
    admin: User, registry: Registry, slack: Integration, client_for: Clients
) -> None:
    page = client_for(admin).get(NEW_REGISTRY).content.decode()
    assert "A version is linked to a registry collection" in page
    assert "A run changes state" not in page  # project events are not offered on a registry
    response = client_for(admin).post(NEW_REGISTRY, {
        "event_type": "ADD_ARTIFACT_ALIAS", "filter_alias_regex": "^production$",
        "action_type": "SLACK_NOTIFICATION", "slack_integration": "alerts",
        "title": "${alias} on ${artifact_version_string}", "message": "by ${event_author}",
        "severity": "WARN", "name": "prod-alias",
    })
    assert response.status_code == 302
    automation = Automation.objects.get(name="prod-alias")
    assert automation.registry == registry and automation.integration == slack
    assert automation.action_config == {
        "title": "${alias} on ${artifact_version_string}", "message": "by ${event_author}",
        "severity": "WARN",
    }
    assert not automation.enabled  # the box was not ticked


def test_errors_are_inline_and_keep_what_the_user_typed(
    admin: User, project: Project, webhook: Integration, client_for: Clients
) -> None:
    body = webhook_body(
        filter_window="0",
        payload='{"text": "${run_name} ${no_such_variable}"}',
        description="my careful words",
    )
    response = client_for(admin).post(NEW_PROJECT, body)
    assert response.status_code == 200
    html = response.content.decode()
    assert not Automation.objects.exists()
    form = response.context["form"]
    assert "filter_window" in form.errors
    assert "no_such_variable" in " ".join(form.errors["payload"])
    assert "Available:" in " ".join(form.errors["payload"])
    # What was typed is still there.
    assert "my careful words" in html
    assert "${no_such_variable}" in html
    assert 'value="loss"' in html and 'value="^sweep-"' in html
    assert "field-error" in html


def test_invalid_json_and_bad_regex_are_inline_errors(
    admin: User, project: Project, webhook: Integration, client_for: Clients
) -> None:
    body = webhook_body(payload='{"text": ', filter_run_name_regex="(unclosed")
    form = client_for(admin).post(NEW_PROJECT, body).context["form"]
    assert "not valid JSON" in " ".join(form.errors["payload"])
    # The regex is checked by validate_automation once the JSON is fixed.
    form = client_for(admin).post(
        NEW_PROJECT, webhook_body(filter_run_name_regex="(unclosed")
    ).context["form"]
    assert "filter_run_name_regex" in form.errors


def test_missing_required_filter_fields_are_reported_next_to_them(
    admin: User, project: Project, webhook: Integration, client_for: Clients
) -> None:
    form = client_for(admin).post(
        NEW_PROJECT, webhook_body(event_type="RUN_STATE", payload="")
    ).context["form"]
    assert "filter_states" in form.errors
    assert not Automation.objects.exists()


def test_duplicate_name_is_an_inline_error(
    admin: User, project: Project, automation: Automation, client_for: Clients
) -> None:
    form = client_for(admin).post(NEW_PROJECT, webhook_body(name="on-failure")).context["form"]
    assert "already exists" in " ".join(form.errors["name"])
    assert Automation.objects.filter(name="on-failure").count() == 1


def test_integration_of_the_wrong_kind_cannot_be_chosen(
    admin: User, project: Project, webhook: Integration, slack: Integration, client_for: Clients
) -> None:
    form = client_for(admin).post(
        NEW_PROJECT, webhook_body(webhook_integration="alerts")
    ).context["form"]
    assert "webhook_integration" in form.errors
    page = client_for(admin).get(NEW_PROJECT).content.decode()
    assert page.count('value="alerts"') == 1 and page.count('value="deploy"') == 1


def test_no_integration_links_to_team_settings(
    admin: User, project: Project, client_for: Clients
) -> None:
    html = client_for(admin).get(NEW_PROJECT).content.decode()
    assert "no webhook integration yet" in html and "no Slack integration yet" in html
    assert reverse("team_settings", args=["acme"]) in html


def test_edit_shows_saved_values_and_saves_changes(
    admin: User, automation: Automation, client_for: Clients
) -> None:
    url = reverse("automation_edit", args=["acme", automation.pk])
    client = client_for(admin)
    html = client.get(url).content.decode()
    assert 'value="on-failure"' in html and "${run_name} failed" in html
    checked = re.findall(r'name="filter_states" value="(\w+)"[^>]*\bchecked>', html)
    assert checked == ["failed"]
    body = {
        "event_type": "RUN_STATE", "filter_states": ["failed", "finished"],
        "action_type": "WEBHOOK", "webhook_integration": "deploy", "payload": "",
        "severity": "INFO", "name": "run-ended", "enabled": "on",
    }
    response = client.post(url, body)
    assert response.status_code == 302
    automation.refresh_from_db()
    assert automation.name == "run-ended"
    assert automation.filter["states"] == ["failed", "finished"]
    assert automation.action_config["payload"] is None  # emptied: send the full event


def test_filter_fields_partial_follows_the_event_type(
    admin: User, project: Project, client_for: Clients
) -> None:
    client = client_for(admin)
    params = {"scope_type": "project", "scope_name": "mnist"}
    response = client.get(FIELDS, {**params, "event_type": "RUN_METRIC_ZSCORE"},
                          HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'name="filter_metric"' in html and 'name="filter_direction"' in html
    assert 'value="30"' in html  # the window's default
    html = client.get(FIELDS, {**params, "event_type": "RUN_STATE"},
                      HTTP_HX_REQUEST="true").content.decode()
    assert 'name="filter_states"' in html and 'name="filter_metric"' not in html
    bad = client.get(FIELDS, {**params, "event_type": "LINK_ARTIFACT"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 404  # a registry event is not offered on a project


def test_without_javascript_refresh_shows_the_new_events_fields_and_keeps_values(
    admin: User, project: Project, webhook: Integration, client_for: Clients
) -> None:
    body = webhook_body(event_type="CREATE_ARTIFACT", refresh="1", description="keep me")
    response = client_for(admin).post(NEW_PROJECT, body)
    html = response.content.decode()
    assert response.status_code == 200 and not Automation.objects.exists()
    assert 'name="filter_artifact_type"' in html and 'name="filter_metric"' not in html
    assert "keep me" in html and not response.context["form"].errors
    assert "field-error" not in html


def test_preset_without_javascript_fills_the_payload(
    admin: User, project: Project, webhook: Integration, client_for: Clients
) -> None:
    response = client_for(admin).post(NEW_PROJECT, webhook_body(preset="github"))
    assert not Automation.objects.exists()
    form = response.context["form"]
    payload = json.loads(form.initial["payload"])
    assert payload["event_type"] == "beacon-${event_type}"


@pytest.mark.parametrize("scope_type", [Scope.PROJECT, Scope.REGISTRY])
def test_every_preset_uses_only_variables_of_every_event(scope_type: str) -> None:
    presets = presets_for(scope_type)
    assert {"github", "teams-messagecard", "teams-adaptive", "discord", "discord-embed",
            "slack-blocks"} <= {p.key for p in presets}
    for preset in presets:
        for spec in specs_for_scope(scope_type):
            allowed = variables.allowed_variables(scope_type, spec.type)
            assert templating.validate(preset.payload, allowed) == [], (preset.key, spec.type)
            assert templating.referenced(preset.payload)


def test_preview_renders_the_latest_real_event_with_secrets_masked(
    admin: User, project: Project, webhook: Integration, client_for: Clients
) -> None:
    Run.start(project, author=admin, run_id="r1", display_name="sweep-7").set_state("failed", admin)
    body = webhook_body(event_type="RUN_STATE", filter_states=["failed"],
                        payload='{"text": "${run_name} is ${run_status}", "t": "${ACCESS_TOKEN}"}',
                        scope_type="project", scope_name="mnist")
    response = client_for(admin).post(PREVIEW, body, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "sweep-7 is failed" in html
    assert "the latest RUN_STATE event" in html
    assert "••••••" in html and SECRET_VALUE not in html
    assert "${ACCESS_TOKEN}" in html  # listed among the variables
    assert "${metric_value}" not in html  # not a variable of RUN_STATE


def test_preview_uses_a_sample_and_reports_unknown_variables(
    admin: User, project: Project, webhook: Integration, client_for: Clients
) -> None:
    body = webhook_body(payload='{"v": "${metric_filter}", "x": "${nope}"}',
                        scope_type="project", scope_name="mnist")
    html = client_for(admin).post(PREVIEW, body, HTTP_HX_REQUEST="true").content.decode()
    assert "a sample event" in html
    assert "avg(loss, 5) &gt; 2.0" in html
    assert "Unknown variable ${nope}" in html


def test_preview_of_a_slack_message(
    admin: User, registry: Registry, slack: Integration, client_for: Clients
) -> None:
    body = {"event_type": "LINK_ARTIFACT", "action_type": "SLACK_NOTIFICATION",
            "slack_integration": "alerts", "title": "Linked ${artifact_version_string}",
            "severity": "ERROR", "scope_type": "registry", "scope_name": "model"}
    html = client_for(admin).post(PREVIEW, body, HTTP_HX_REQUEST="true").content.decode()
    assert "Linked acme/model/sample-collection:v1" in html and "ERROR" in html
    # The preview is the Block Kit message the action posts: what, where, who, a link back.
    assert "&quot;blocks&quot;" in html and "Open in Beacon" in html
    assert "*Where:* acme/model (registry)" in html


def test_test_button_sends_now_and_shows_the_result_in_place(
    admin: User, make_automation: Callable[..., Automation], team: Team, receiver: Receiver,
    token_secret: Secret, client_for: Clients,
) -> None:
    hook = Integration.objects.create(team=team, kind="webhook", name="live",
                                      url=receiver.url("/hook"), access_token_secret=token_secret)
    receiver.respond("/hook", 202, {"received": "thanks"})
    automation = make_automation("tested", integration=hook)
    response = client_for(admin).post(
        reverse("automation_test", args=["acme", automation.pk]), HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    execution = Execution.objects.get(automation=automation)
    assert execution.trigger == Execution.Trigger.TEST
    assert "HTTP 202" in html and "received" in html
    assert reverse("execution_detail", args=["acme", execution.pk]) in html
    assert len(receiver.requests) == 1
    assert receiver.requests[0].headers["Authorization"] == f"Bearer {SECRET_VALUE}"
    assert SECRET_VALUE not in html


def test_test_without_javascript_redirects_to_the_execution(
    admin: User, automation: Automation, client_for: Clients
) -> None:
    response = client_for(admin).post(reverse("automation_test", args=["acme", automation.pk]))
    execution = Execution.objects.get(automation=automation)
    assert response.status_code == 302 and response["Location"] == execution.get_absolute_url()
    assert execution.status == Execution.Status.FAILED  # port 9 refuses the connection


def test_redeliver_creates_a_new_execution_and_opens_it(
    admin: User, automation: Automation, make_execution: Callable[..., Execution],
    client_for: Clients,
) -> None:
    original = make_execution(automation, status="failed")
    response = client_for(admin).post(reverse("execution_redeliver", args=["acme", original.pk]))
    again = Execution.objects.exclude(pk=original.pk).get()
    assert again.redelivery_of == original and again.trigger == Execution.Trigger.REDELIVERY
    assert response.status_code == 302 and response["Location"] == again.get_absolute_url()


def test_redelivering_a_pending_execution_is_refused_with_a_message(
    admin: User, automation: Automation, make_execution: Callable[..., Execution],
    client_for: Clients,
) -> None:
    pending = make_execution(automation, status="pending")
    response = client_for(admin).post(
        reverse("execution_redeliver", args=["acme", pending.pk]), follow=True
    )
    assert response.status_code == 200
    assert "still being delivered" in response.content.decode()
    assert Execution.objects.count() == 1


def test_secret_values_never_reach_the_html(
    admin: User, project: Project, team: Team, receiver: Receiver, token_secret: Secret,
    make_automation: Callable[..., Automation], client_for: Clients,
) -> None:
    hook = Integration.objects.create(team=team, kind="webhook", name="echo",
                                      url=receiver.url("/echo"), access_token_secret=token_secret)
    # A receiver that echoes the token back must not leak it into the page either.
    receiver.respond("/echo", 200, {"echo": SECRET_VALUE})
    automation = make_automation("leaky", integration=hook)
    client = client_for(admin)
    Run.start(project, author=admin, run_id="r1").set_state("failed", admin)
    pages = [
        client.post(PREVIEW, webhook_body(webhook_integration="echo", payload=json.dumps(
            {"token": "${ACCESS_TOKEN}"}), scope_type="project", scope_name="mnist"),
            HTTP_HX_REQUEST="true"),
        client.post(reverse("automation_test", args=["acme", automation.pk]),
                    HTTP_HX_REQUEST="true"),
    ]
    execution = Execution.objects.get(automation=automation)
    assert receiver.requests and receiver.requests[0].json()["auth"] == SECRET_VALUE
    pages += [
        client.get(reverse("project_automations", args=["acme", "mnist"])),
        client.get(reverse("project_history", args=["acme", "mnist"])),
        client.get(automation.get_absolute_url()),
        client.get(reverse("automation_edit", args=["acme", automation.pk])),
        client.get(execution.get_absolute_url()),
        client.get(NEW_PROJECT),
    ]
    for response in pages:
        assert response.status_code == 200
        assert SECRET_VALUE not in response.content.decode()
