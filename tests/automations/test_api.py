from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
import requests

from automations import dispatch
from automations.emit import queue_broker
from automations.models import Automation, Event, Execution
from projects.models import Project, Run
from registries.models import Registry
from teams.models import Integration, Team
from tests.support.factories import fail_run, make_automation, make_webhook
from tests.support.http import response


@pytest.fixture
def hook(team: Team) -> Integration:
    return make_webhook(team, payload_secret=("DEPLOY_KEY", "s3cr3t-value"))


def body(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "loss-went-nan",
        "description": "",
        "enabled": True,
        "scope": {"type": "project", "name": "mnist"},
        "event": {"type": "RUN_METRIC_THRESHOLD",
                  "filter": {"metric": "loss", "window": 1, "agg": "max", "cmp": "nonfinite",
                             "run_name_regex": "^sweep-"}},
        "action": {"type": "WEBHOOK", "integration": "deploy",
                   "payload": {"text": "${run_name}: ${metric_filter}"}},
    }
    data.update(changes)
    return data


# --- create / read / update / delete -------------------------------------------------


def test_admin_creates_an_automation_as_api_md_shows(
    admin_api: Any, project: Project, hook: Integration
) -> None:
    r = admin_api.post("/teams/acme/automations", json=body())

    assert r.status_code == 201, r.json()
    out = r.json()
    assert out["id"]
    assert out["name"] == "loss-went-nan"
    assert out["scope"] == {"type": "project", "name": "mnist"}
    assert out["event"]["type"] == "RUN_METRIC_THRESHOLD"
    assert out["event"]["filter"]["cmp"] == "nonfinite"
    assert out["action"] == {"type": "WEBHOOK", "integration": "deploy",
                             "payload": {"text": "${run_name}: ${metric_filter}"}}
    automation = Automation.objects.get(pk=int(out["id"]))
    assert automation.project == project and automation.created_by.username == "alice"

    assert admin_api.get(f"/teams/acme/automations/{out['id']}").json() == out


def test_slack_automation_round_trip(admin_api: Any, project: Project, slack: Integration) -> None:
    r = admin_api.post("/teams/acme/automations", json=body(
        name="failed-runs",
        event={"type": "RUN_STATE", "filter": {"states": ["failed", "crashed"]}},
        action={"type": "SLACK_NOTIFICATION", "integration": "alerts",
                "title": "${run_name} failed", "message": "by ${event_author}",
                "severity": "ERROR"},
    ))

    assert r.status_code == 201, r.json()
    assert r.json()["action"] == {"type": "SLACK_NOTIFICATION", "integration": "alerts",
                                  "title": "${run_name} failed", "message": "by ${event_author}",
                                  "severity": "ERROR"}
    assert r.json()["event"]["filter"]["states"] == ["failed"]


def test_duplicate_names_are_a_conflict(
    admin_api: Any, project: Project, hook: Integration
) -> None:
    assert admin_api.post("/teams/acme/automations", json=body()).status_code == 201

    r = admin_api.post("/teams/acme/automations", json=body())

    assert r.status_code == 409
    assert r.json()["error"]["code"] == "conflict"


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"name": ""}, "name", "required"),
        ({"name": "bad name!"}, "name", "letters"),
        ({"name": 1}, "name", "Must be a string"),
        ({"scope": {"type": "project", "name": 7}}, "scope.name", "Must be a string"),
        ({"scope": {"type": "project", "name": "nope"}}, "scope.name", "No project named 'nope'"),
        ({"scope": {"type": "galaxy", "name": "x"}}, "scope.type", "project, registry"),
        ({"event": {"type": "LINK_ARTIFACT", "filter": {}}}, "event.type", "Available:"),
        ({"event": {"type": "RUN_METRIC_THRESHOLD", "filter": {"metric": "loss", "window": 0,
                                                               "threshold": 1}}},
         "event.filter.window", "at least 1"),
        ({"event": {"type": "RUN_METRIC_THRESHOLD", "filter": {"metric": "loss", "threshold": 1,
                                                               "run_name_regex": "(a"}}},
         "event.filter.run_name_regex", ""),
        ({"event": {"type": "RUN_STATE", "filter": {"states": ["killed"]}}},
         "event.filter.states", "killed"),
        ({"action": {"type": "EMAIL", "integration": "deploy"}}, "action.type", "WEBHOOK"),
        ({"action": {"type": "WEBHOOK", "integration": "nope"}}, "action.integration",
         "No integration named 'nope'"),
        ({"action": {"type": "SLACK_NOTIFICATION", "integration": "deploy"}},
         "action.integration", "needs a Slack one"),
        ({"action": {"type": "WEBHOOK", "integration": "deploy", "payload": {"t": "${foo}"}}},
         "action.payload", "Unknown variable ${foo}. Available: ${event_type}"),
        ({"action": {"type": "WEBHOOK", "integration": "deploy", "payload": {"t": "${alias}"}}},
         "action.payload", "Unknown variable ${alias}"),
        ({"action": {"type": "WEBHOOK", "integration": "deploy", "payload": 3}},
         "action.payload", "JSON object"),
    ],
)
def test_every_validation_problem_is_a_400_with_fields(
    admin_api: Any, project: Project, hook: Integration, changes: dict[str, Any], field: str,
    fragment: str,
) -> None:
    r = admin_api.post("/teams/acme/automations", json=body(**changes))

    assert r.status_code == 400, r.json()
    fields = r.json()["error"]["fields"]
    assert field in fields, fields
    assert fragment in " ".join(fields[field])
    assert not Automation.objects.exists()


def test_templates_may_use_the_attached_secrets_only(
    admin_api: Any, project: Project, hook: Integration, slack: Integration
) -> None:
    ok = body(action={"type": "WEBHOOK", "integration": "deploy",
                      "payload": {"key": "${DEPLOY_KEY}"}})
    assert admin_api.post("/teams/acme/automations", json=ok).status_code == 201

    no_token = body(name="b", action={"type": "WEBHOOK", "integration": "deploy",
                                      "payload": {"t": "${ACCESS_TOKEN}"}})
    assert admin_api.post("/teams/acme/automations", json=no_token).status_code == 400
    slack_secret = body(name="c", action={"type": "SLACK_NOTIFICATION", "integration": "alerts",
                                          "message": "${DEPLOY_KEY}"})
    r = admin_api.post("/teams/acme/automations", json=slack_secret)
    assert r.status_code == 400 and "action.message" in r.json()["error"]["fields"]


def test_malformed_json_is_a_400(admin_api: Any, project: Project) -> None:
    r = admin_api.client.post("/api/v1/teams/acme/automations", data="{nope",
                              content_type="application/json", headers=admin_api.headers)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid"


def test_patch_changes_some_fields_and_revalidates(
    admin_api: Any, project: Project, hook: Integration
) -> None:
    id = admin_api.post("/teams/acme/automations", json=body()).json()["id"]

    r = admin_api.patch(f"/teams/acme/automations/{id}",
                        json={"enabled": False, "event": {"filter": {"metric": "val_loss",
                                                                     "threshold": 3}}})
    assert r.status_code == 200, r.json()
    assert r.json()["enabled"] is False
    assert r.json()["event"]["filter"]["metric"] == "val_loss"
    assert r.json()["action"]["integration"] == "deploy"

    bad = admin_api.patch(f"/teams/acme/automations/{id}",
                          json={"event": {"filter": {"metric": "loss", "window": -1,
                                                     "threshold": 1}}})
    assert bad.status_code == 400
    assert "event.filter.window" in bad.json()["error"]["fields"]
    assert Automation.objects.get(pk=int(id)).filter["metric"] == "val_loss"


def test_patch_to_a_taken_name_is_a_conflict(
    admin_api: Any, project: Project, hook: Integration
) -> None:
    admin_api.post("/teams/acme/automations", json=body(name="one"))
    id = admin_api.post("/teams/acme/automations", json=body(name="two")).json()["id"]

    assert admin_api.patch(f"/teams/acme/automations/{id}",
                           json={"name": "one"}).status_code == 409


def test_list_filters_by_scope_and_delete_removes(
    admin_api: Any, project: Project, registry: Registry, hook: Integration
) -> None:
    make_automation(project, hook, event_type="CREATE_ARTIFACT", name="p")
    make_automation(registry, hook, event_type="LINK_ARTIFACT", name="r")

    assert [a["name"] for a in admin_api.get("/teams/acme/automations").json()] == ["p", "r"]
    listed = admin_api.get("/teams/acme/automations?scope=registry:model").json()
    assert [a["name"] for a in listed] == ["r"]
    assert admin_api.get("/teams/acme/automations?scope=registry:nope").status_code == 404
    assert admin_api.get("/teams/acme/automations?scope=bogus").status_code == 400

    r = admin_api.delete(f"/teams/acme/automations/{listed[0]['id']}")
    assert r.status_code == 204
    assert not Automation.objects.filter(name="r").exists()


# --- access matrix ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "read", "write"),
    [("admin_api", 200, 201), ("member_api", 200, 403), ("viewer_api", 200, 403),
     ("outsider_api", 404, 404)],
)
def test_access_matrix(
    request: pytest.FixtureRequest, persona: str, read: int, write: int,
    project: Project, hook: Integration,
) -> None:
    client = request.getfixturevalue(persona)
    automation = make_automation(project, hook, event_type="CREATE_ARTIFACT", name="existing")
    path = f"/teams/acme/automations/{automation.pk}"

    assert client.get("/teams/acme/automations").status_code == read
    assert client.get(path).status_code == read
    assert client.get(f"{path}/executions").status_code == read
    assert client.get("/teams/acme/events").status_code == read
    assert client.post("/teams/acme/automations", json=body()).status_code == write
    forbidden = 403 if write == 403 else write
    if write != 201:
        assert client.patch(path, json={"enabled": False}).status_code == forbidden
        assert client.delete(path).status_code == forbidden
        assert client.post(f"{path}/test").status_code == forbidden
        assert client.post("/teams/acme/integrations/deploy/test").status_code == forbidden
        assert Automation.objects.filter(pk=automation.pk, enabled=True).exists()


def test_unauthenticated_requests_are_401(api_for: Any, team: Team) -> None:
    assert api_for(None).get("/teams/acme/automations").status_code == 401


def test_another_teams_automation_is_not_found(
    admin_api: Any, other_team: Team, project: Project
) -> None:
    theirs = Project.objects.create(team=other_team, name="secret-project")
    automation = make_automation(theirs, make_webhook(other_team), event_type="CREATE_ARTIFACT")

    assert admin_api.get(f"/teams/acme/automations/{automation.pk}").status_code == 404
    assert admin_api.get("/teams/acme/automations/not-a-number").status_code == 404


# --- executions, test, redeliver, events -------------------------------------------------


def test_executions_list_shape_newest_first_with_masked_payload(
    admin_api: Any, viewer_api: Any, project: Project, hook: Integration, member: Any,
    public_dns: Any,
) -> None:
    automation = make_automation(project, hook, event_type="RUN_STATE",
                                 filter={"states": ["failed"]},
                                 config={"payload": {"run": "${run_name}", "k": "${DEPLOY_KEY}"}})
    for run_id in ("sweep-1", "sweep-2"):
        [execution] = dispatch.process(fail_run(project, member, run_id))
        with mock.patch("automations.actions.webhook.requests.Session.post", autospec=True,
                        return_value=response(200)):
            dispatch.deliver_execution(execution.pk)

    r = viewer_api.get(f"/teams/acme/automations/{automation.pk}/executions")

    assert r.status_code == 200
    first, second = r.json()
    assert first["payload"] == {"run": "sweep-2", "k": "••••••"}
    assert second["payload"]["run"] == "sweep-1"
    assert first["status"] == "finished"
    assert set(first["event"]) >= {"id", "type", "author", "created_at"}
    assert first["event"]["author"] == "mia"
    [attempt] = first["attempts"]
    assert set(attempt) >= {"at", "status", "duration_ms", "error"}
    assert attempt["status"] == 200
    assert first["finished_at"] and first["created_at"] and first["error"] == ""
    assert "s3cr3t-value" not in r.content.decode()

    page = viewer_api.get(f"/teams/acme/automations/{automation.pk}/executions?limit=1&offset=1")
    assert [e["id"] for e in page.json()] == [second["id"]]
    assert viewer_api.get(
        f"/teams/acme/automations/{automation.pk}/executions?limit=0").status_code == 400


def test_test_runs_now_on_a_sample_when_no_event_matched(
    admin_api: Any, project: Project, hook: Integration, public_dns: Any
) -> None:
    automation = make_automation(project, hook, event_type="RUN_STATE",
                                 filter={"states": ["failed"]},
                                 config={"payload": {"run": "${run_name}"}})

    with mock.patch("automations.actions.webhook.requests.Session.post", autospec=True,
                    return_value=response(200)) as post:
        r = admin_api.post(f"/teams/acme/automations/{automation.pk}/test")

    assert r.status_code == 200, r.json()
    assert r.json()["status"] == "finished"
    assert r.json()["trigger"] == "test"
    assert r.json()["event"]["sample"] is True
    assert r.json()["payload"] == {"run": "sample-run"}
    assert post.call_count == 1
    # Sample events are not real events.
    assert admin_api.get("/teams/acme/events").json() == []


def test_test_uses_the_latest_matching_real_event(
    admin_api: Any, project: Project, hook: Integration, member: Any, public_dns: Any
) -> None:
    automation = make_automation(project, hook, event_type="RUN_STATE",
                                 filter={"states": ["failed"]},
                                 config={"payload": {"run": "${run_name}"}})
    fail_run(project, member, "first")
    fail_run(project, member, "second")
    Run.start(project, author=member, run_id="third")  # running: does not match

    with mock.patch("automations.actions.webhook.requests.Session.post", autospec=True,
                    return_value=response(200)):
        r = admin_api.post(f"/teams/acme/automations/{automation.pk}/test")

    assert r.json()["payload"] == {"run": "second"}
    assert r.json()["event"]["sample"] is False


def test_a_failing_test_reports_the_failure_without_retrying(
    admin_api: Any, project: Project, hook: Integration, public_dns: Any
) -> None:
    automation = make_automation(project, hook, event_type="CREATE_ARTIFACT")

    with mock.patch("automations.actions.webhook.requests.Session.post", autospec=True,
                    side_effect=requests.ConnectionError("refused")):
        r = admin_api.post(f"/teams/acme/automations/{automation.pk}/test")

    assert r.json()["status"] == "failed"
    assert "Could not connect" in r.json()["error"]


def test_redeliver_queues_a_new_execution_with_the_same_webhook_id(
    admin_api: Any, member_api: Any, project: Project, hook: Integration, member: Any,
    public_dns: Any, django_capture_on_commit_callbacks: Any,
) -> None:
    make_automation(project, hook, event_type="RUN_STATE", filter={"states": ["failed"]})
    [execution] = dispatch.process(fail_run(project, member))
    with mock.patch("automations.actions.webhook.requests.Session.post", autospec=True,
                    return_value=response(200)):
        dispatch.deliver_execution(execution.pk)

    assert member_api.post(f"/teams/acme/executions/{execution.pk}/redeliver").status_code == 403
    with mock.patch("django_q.tasks.async_task", autospec=True) as async_task, \
         django_capture_on_commit_callbacks(execute=True):
        r = admin_api.post(f"/teams/acme/executions/{execution.pk}/redeliver")

    assert r.status_code == 202
    again = Execution.objects.get(pk=int(r.json()["id"]))
    assert again.redelivery_of == execution and again.trigger == "redelivery"
    assert again.webhook_id == execution.webhook_id and again.status == "pending"
    async_task.assert_called_once_with("automations.tasks.deliver", again.pk,
                                       task_name=f"deliver-{again.pk}", save=False,
                                       broker=queue_broker())
    assert admin_api.post(f"/teams/acme/executions/{again.pk}/redeliver").status_code == 409


def test_events_say_what_matched_and_why_the_others_did_not(
    viewer_api: Any, project: Project, registry: Registry, hook: Integration, member: Any
) -> None:
    make_automation(project, hook, event_type="RUN_STATE", filter={"states": ["failed"]},
                    name="on-failure")
    make_automation(project, hook, event_type="RUN_STATE",
                    filter={"states": ["failed"], "run_name_regex": "^prod-"}, name="prod-only")
    event = fail_run(project, member)
    [execution] = dispatch.process(event)

    r = viewer_api.get("/teams/acme/events?scope=project:mnist&type=RUN_STATE")

    assert r.status_code == 200
    newest = r.json()[0]
    assert newest["id"] == str(event.pk)
    assert newest["type"] == "RUN_STATE"
    assert newest["author"] == "mia"
    assert newest["matched"] == [{"automation": str(execution.automation_id),
                                  "name": "on-failure", "reason": mock.ANY,
                                  "execution": str(execution.pk), "status": "pending"}]
    assert newest["not_matched"][0]["name"] == "prod-only"
    assert "does not match ^prod-" in newest["not_matched"][0]["reason"]
    assert [e["type"] for e in r.json()] == ["RUN_STATE", "RUN_STATE"]  # started, then failed

    assert viewer_api.get("/teams/acme/events?type=CREATE_ARTIFACT").json() == []
    assert viewer_api.get("/teams/acme/events?scope=registry:model").json() == []
    assert len(viewer_api.get("/teams/acme/events?limit=1").json()) == 1


def test_integration_test_sends_now_and_reports(
    admin_api: Any, hook: Integration, public_dns: Any
) -> None:
    with mock.patch("automations.actions.webhook.requests.Session.post", autospec=True,
                    return_value=response(200, "hello s3cr3t-value")) as post:
        r = admin_api.post("/teams/acme/integrations/deploy/test",
                           json={"payload": {"hello": "world"}})

    assert r.status_code == 200
    assert r.json() == {"ok": True, "status": 200, "response": "hello ••••••", "error": "",
                        "duration_ms": mock.ANY}
    assert post.call_args.kwargs["data"] == b'{"hello":"world"}'
    assert admin_api.post("/teams/acme/integrations/nope/test").status_code == 404


def test_integration_test_reports_a_refused_private_address(
    admin_api: Any, team: Team, settings: Any
) -> None:
    settings.BEACON_ALLOWED_PRIVATE_NETWORKS = []
    make_webhook(team, "http://127.0.0.1:9/x", name="local")

    r = admin_api.post("/teams/acme/integrations/local/test")

    assert r.status_code == 200
    assert r.json()["ok"] is False and r.json()["status"] is None
    assert "not a public address" in r.json()["error"]


def test_a_metric_execution_reports_the_catalog_event_type(
    viewer_api: Any, project: Project, hook: Integration, member: Any
) -> None:
    automation = make_automation(project, hook, event_type="RUN_METRIC_THRESHOLD",
                                 filter={"metric": "loss", "window": 1, "cmp": "nonfinite"})
    run = Run.start(project, author=member, run_id="r1")
    run.log_history([(0, {"loss": float("nan")})], member)
    dispatch.process(Event.objects.filter(type="RUN_METRIC").latest("id"))

    [execution] = viewer_api.get(f"/teams/acme/automations/{automation.pk}/executions").json()

    assert execution["event"]["type"] == "RUN_METRIC_THRESHOLD"
    assert execution["event"]["source_type"] == "RUN_METRIC"
