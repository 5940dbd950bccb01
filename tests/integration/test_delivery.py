"""End to end: events sent through the JSON API reach receivers on loopback through a
real qcluster worker, exactly once, rendered and signed."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest
from standardwebhooks import Webhook

from tests.support.fake_slack import VALID_TOKEN, FakeSlack
from tests.support.qcluster import QCluster, wait_until_quiet
from tests.support.receiver import Receiver

pytestmark = pytest.mark.integration

T = "/teams/acme"


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.content
    return response.json()


def webhook(admin_api: Any, receiver: Receiver, name: str, **extra: Any) -> dict[str, Any]:
    return ok(admin_api.post(f"{T}/integrations", json={
        "kind": "webhook", "name": name, "url": receiver.url(f"/{name}"), **extra,
    }), 201)


def automation(admin_api: Any, name: str, scope: tuple[str, str], event: dict[str, Any],
               action: dict[str, Any]) -> dict[str, Any]:
    return ok(admin_api.post(f"{T}/automations", json={
        "name": name, "scope": {"type": scope[0], "name": scope[1]}, "event": event,
        "action": action,
    }), 201)


def executions(api: Any, automation_id: str) -> list[dict[str, Any]]:
    return ok(api.get(f"{T}/automations/{automation_id}/executions"))


def test_run_events_arrive_once_rendered_and_signed(
    live: QCluster, receiver: Receiver, admin_api: Any, member_api: Any, viewer_api: Any,
    project: Any,
) -> None:
    ok(admin_api.put(f"{T}/secrets/DEPLOY_TOKEN", json={"value": "tok-abc"}), 201)
    ok(admin_api.put(f"{T}/secrets/PAYLOAD_KEY", json={"value": "pk-secret"}), 201)
    hook = webhook(admin_api, receiver, "runs", access_token_secret="DEPLOY_TOKEN",
                   payload_secret="PAYLOAD_KEY")
    failed = automation(
        admin_api, "failed-runs", ("project", "mnist"),
        {"type": "RUN_STATE", "filter": {"states": ["failed"], "run_name_regex": "^sweep-"}},
        {"type": "WEBHOOK", "integration": "runs",
         "payload": {"text": "${run_name} is ${run_status}", "by": "${event_author}",
                     "key": "${PAYLOAD_KEY}"}},
    )
    nan = automation(
        admin_api, "loss-went-nan", ("project", "mnist"),
        {"type": "RUN_METRIC_THRESHOLD",
         "filter": {"metric": "loss", "window": 1, "agg": "max", "cmp": "nonfinite"}},
        {"type": "WEBHOOK", "integration": "runs",
         "payload": {"text": "${run_name}: ${metric_filter}", "value": "${metric_value}"}},
    )
    avg = automation(
        admin_api, "loss-too-high", ("project", "mnist"),
        {"type": "RUN_METRIC_THRESHOLD",
         "filter": {"metric": "loss", "window": 3, "agg": "avg", "cmp": "gt", "threshold": 2}},
        {"type": "WEBHOOK", "integration": "runs",
         "payload": {"text": "${metric_filter} = ${metric_value} at ${metric_step}"}},
    )

    # A failed sweep run matches; an eval run and a finished run do not.
    ok(member_api.post(f"{T}/projects/mnist/runs", json={"id": "sweep-1"}), 201)
    ok(member_api.post(f"{T}/projects/mnist/runs", json={"id": "eval-1"}), 201)
    ok(member_api.patch(f"{T}/projects/mnist/runs/sweep-1", json={"state": "failed"}))
    ok(member_api.patch(f"{T}/projects/mnist/runs/eval-1", json={"state": "failed"}))
    # Loss over a window of 3: avg(1, 1, 1) no; avg(1, 1, 5) > 2 at step 2.
    ok(member_api.post(f"{T}/projects/mnist/runs/eval-1/history", json={"rows": [
        {"step": 0, "metrics": {"loss": 1}}, {"step": 1, "metrics": {"loss": 1}},
    ]}), 202)
    ok(member_api.post(f"{T}/projects/mnist/runs/eval-1/history", json={"rows": [
        {"step": 2, "metrics": {"loss": 5}}, {"step": 3, "metrics": {"loss": 6}},
    ]}), 202)
    # NaN loss fires; the same run going NaN again is skipped (once per run per 24 h).
    ok(member_api.post(f"{T}/projects/mnist/runs/sweep-1/history", json={"rows": [
        {"step": 0, "metrics": {"loss": 0.5}}, {"step": 1, "metrics": {"loss": "NaN"}},
    ]}), 202)
    wait_until_quiet()
    ok(member_api.post(f"{T}/projects/mnist/runs/sweep-1/history", json={"rows": [
        {"step": 2, "metrics": {"loss": "NaN"}},
    ]}), 202)
    wait_until_quiet()

    got = receiver.received("/runs")
    bodies = sorted(r.json()["text"] for r in got)
    assert bodies == [
        "avg(loss, 3) > 2.0 = 2.3333333333333335 at 2",
        "sweep-1 is failed",
        "sweep-1: loss is NaN or ±inf (max over 1)",
    ], bodies
    signer = Webhook(hook["signing_secret"])
    for request in got:
        assert signer.verify(request.body, request.headers) == request.json()
        assert request.headers["Authorization"] == "Bearer tok-abc"
        expected = base64.b64encode(
            hmac.new(b"pk-secret", request.body, hashlib.sha256).digest()
        ).decode()
        assert request.headers["X-Wandb-Signature"] == expected
    [failed_request] = [r for r in got if r.json()["text"] == "sweep-1 is failed"]
    assert failed_request.json() == {"text": "sweep-1 is failed", "by": "mia", "key": "pk-secret"}
    assert len({r.headers["webhook-id"] for r in got}) == 3

    # The history says what happened, with secrets masked.
    [execution] = executions(viewer_api, failed["id"])
    assert execution["status"] == "finished"
    assert execution["payload"]["key"] == "••••••"
    assert execution["attempts"][0]["status"] == 200
    assert execution["webhook_id"] == failed_request.headers["webhook-id"]
    statuses = sorted(e["status"] for e in executions(viewer_api, nan["id"]))
    assert statuses == ["finished", "skipped"]
    # step 3's avg(1, 5, 6) matched too, in the same batch: recorded, skipped (24-hour rule)
    avg_fired, avg_skipped = sorted(executions(viewer_api, avg["id"]), key=lambda e: e["status"])
    assert avg_fired["status"] == "finished"
    assert avg_skipped["status"] == "skipped"
    assert f"(execution #{avg_fired['id']})" in avg_skipped["error"]
    events = ok(viewer_api.get(f"{T}/events?scope=project:mnist&type=RUN_STATE"))
    eval_failed = next(e for e in events if e["subject"].endswith("/eval-1")
                       and e["data"]["state"] == "failed")
    assert eval_failed["matched"] == []
    assert "does not match ^sweep-" in eval_failed["not_matched"][0]["reason"]


def test_artifact_alias_and_registry_events_arrive_once(
    live: QCluster, receiver: Receiver, admin_api: Any, member_api: Any, viewer_api: Any,
    project: Any, registry: Any,
) -> None:
    hook = webhook(admin_api, receiver, "artifacts")
    new_model = automation(
        admin_api, "new-model", ("project", "mnist"),
        {"type": "CREATE_ARTIFACT", "filter": {"artifact_type": "model"}},
        {"type": "WEBHOOK", "integration": "artifacts",
         "payload": {"kind": "created", "ref": "${artifact_version_string}"}},
    )
    automation(
        admin_api, "to-production", ("project", "mnist"),
        {"type": "ADD_ARTIFACT_ALIAS", "filter": {"alias_regex": "^prod"}},
        {"type": "WEBHOOK", "integration": "artifacts",
         "payload": {"kind": "alias", "alias": "${alias}", "ref": "${artifact_version_string}"}},
    )
    automation(
        admin_api, "linked", ("registry", "model"),
        {"type": "LINK_ARTIFACT", "filter": {"collection": "mnist-classifier"}},
        {"type": "WEBHOOK", "integration": "artifacts", "payload": None},
    )
    automation(
        admin_api, "staged", ("registry", "model"),
        {"type": "ADD_ARTIFACT_ALIAS", "filter": {"alias_regex": "^staging$"}},
        {"type": "WEBHOOK", "integration": "artifacts",
         "payload": {"kind": "registry-alias", "ref": "${artifact_version_string}"}},
    )

    ok(member_api.post(f"{T}/projects/mnist/artifacts", json={
        "name": "mnist-data", "type": "dataset", "digest": "d0"}), 201)
    ok(member_api.post(f"{T}/projects/mnist/artifacts", json={
        "name": "cnn", "type": "model", "digest": "m0", "aliases": ["latest"]}), 201)
    ok(member_api.post(f"{T}/projects/mnist/artifacts/cnn/versions/v0/aliases",
                       json={"alias": "production"}))
    ok(member_api.post(f"{T}/registries/model/collections/mnist-classifier/links",
                       json={"artifact": "mnist/cnn:v0", "aliases": ["staging"]}), 201)
    ok(member_api.post(f"{T}/registries/model/collections/other/links",
                       json={"artifact": "mnist/cnn:v0", "aliases": ["candidate"]}), 201)
    wait_until_quiet()

    got = receiver.received("/artifacts")
    kinds = sorted(r.json().get("kind", "full-event") for r in got)
    assert kinds == ["alias", "created", "full-event", "registry-alias"], kinds
    by_kind = {r.json().get("kind", "full-event"): r for r in got}
    assert by_kind["created"].json()["ref"] == "acme/mnist/cnn:v0"
    assert by_kind["alias"].json() == {"kind": "alias", "alias": "production",
                                       "ref": "acme/mnist/cnn:v0"}
    assert by_kind["registry-alias"].json()["ref"] == "acme/model/mnist-classifier:v0"
    full = by_kind["full-event"].json()  # empty payload template: the whole event
    assert full["event_type"] == "LINK_ARTIFACT"
    assert full["event"]["data"]["linked"]["ref"] == "acme/model/mnist-classifier:v0"
    signer = Webhook(hook["signing_secret"])
    for request in got:
        signer.verify(request.body, request.headers)
    [execution] = executions(viewer_api, new_model["id"])
    assert execution["status"] == "finished"


def test_slack_messages_arrive_through_both_modes(
    live: QCluster, fake_slack: FakeSlack, admin_api: Any, member_api: Any, project: Any,
) -> None:
    ok(admin_api.put(f"{T}/secrets/SLACK_URL", json={"value": fake_slack.webhook_url()}), 201)
    ok(admin_api.put(f"{T}/secrets/SLACK_BOT", json={"value": VALID_TOKEN}), 201)
    ok(admin_api.post(f"{T}/integrations", json={
        "kind": "slack", "name": "hooked", "workspace": "acme", "channel": "#ml-alerts",
        "webhook_url_secret": "SLACK_URL"}), 201)
    ok(admin_api.post(f"{T}/integrations", json={
        "kind": "slack", "name": "bot", "workspace": "acme", "channel": "#ml-alerts",
        "bot_token_secret": "SLACK_BOT", "channel_id": "C0123"}), 201)
    for integration, severity in (("hooked", "ERROR"), ("bot", "WARN")):
        automation(
            admin_api, f"slack-{integration}", ("project", "mnist"),
            {"type": "RUN_STATE", "filter": {"states": ["failed"]}},
            {"type": "SLACK_NOTIFICATION", "integration": integration,
             "title": "${run_name} failed", "message": "Started by ${event_author}",
             "severity": severity},
        )

    ok(member_api.post(f"{T}/projects/mnist/runs", json={"id": "r1"}), 201)
    ok(member_api.patch(f"{T}/projects/mnist/runs/r1", json={"state": "crashed"}))
    wait_until_quiet()

    messages = {m["via"]: m for m in fake_slack.messages}
    assert set(messages) == {"webhook", "api"} and len(fake_slack.messages) == 2
    assert messages["api"]["channel"] == "C0123"
    for via, word in (("webhook", "ERROR"), ("api", "WARN")):
        blocks = messages[via]["blocks"]
        assert word in blocks[0]["text"]["text"] and "r1 failed" in blocks[0]["text"]["text"]
        assert blocks[1]["text"]["text"] == "Started by mia"
        facts = blocks[2]["text"]["text"]
        assert "Run r1 is now crashed" in facts and "acme/mnist" in facts and "mia" in facts
        link = blocks[-1]["elements"][0]["url"]
        assert link.startswith("http://127.0.0.1:8000/") and link.endswith("/runs/r1/")
        assert messages[via]["text"]


def test_a_failing_receiver_is_retried_then_recorded_as_failed(
    live: QCluster, receiver: Receiver, admin_api: Any, member_api: Any, viewer_api: Any,
    project: Any,
) -> None:
    webhook(admin_api, receiver, "down")
    receiver.respond("/down", 503, {"error": "maintenance"})
    created = automation(
        admin_api, "new-anything", ("project", "mnist"), {"type": "CREATE_ARTIFACT"},
        {"type": "WEBHOOK", "integration": "down", "payload": {"ref": "${artifact_version}"}},
    )

    ok(member_api.post(f"{T}/projects/mnist/artifacts", json={
        "name": "cnn", "type": "model", "digest": "m0"}), 201)
    wait_until_quiet(timeout=60)

    got = receiver.received("/down")
    assert len(got) == 3  # BEACON_RETRY_SCHEDULE=0,1,1 in the worker
    assert len({r.headers["webhook-id"] for r in got}) == 1
    [execution] = executions(viewer_api, created["id"])
    assert execution["status"] == "failed"
    assert [a["status"] for a in execution["attempts"]] == [503, 503, 503]
    assert "maintenance" in execution["attempts"][0]["response"]
