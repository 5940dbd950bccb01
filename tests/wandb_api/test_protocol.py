"""The W&B protocol in detail: a real GraphQL engine, the file stream's retries and
heartbeats, signed uploads, and no 4xx/5xx for well-formed logging."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from automations.models import Event
from projects.models import Run
from tests.wandb_api.conftest import WandbClient
from wandb_api.models import WandbRun
from wandb_api.tasks import detect_crashed_runs

UPSERT = """
mutation Up($name: String, $project: String, $entity: String, $config: JSONString) {
  upsertBucket(input: {name: $name, modelName: $project, entityName: $entity, config: $config}) {
    bucket { id name project { name entity { name } } }
    inserted
  }
}"""


def start(client: WandbClient, name: str = "r1", entity: str | None = "acme") -> dict[str, Any]:
    response = client.gql(UPSERT, {"name": name, "project": "mnist", "entity": entity,
                                   "config": json.dumps({"lr": {"value": 0.1, "desc": None},
                                                         "_wandb": {"t": {}}})})
    assert response.status_code == 200, response.content
    body = response.json()
    assert "errors" not in body, body
    return body["data"]["upsertBucket"]


def history(*rows: str, offset: int = 0) -> dict[str, Any]:
    return {"files": {"wandb-history.jsonl": {"offset": offset, "content": list(rows)}}}


def test_graphql_engine_features(wandb_for: Callable[..., WandbClient], member: User) -> None:
    client = wandb_for(member)
    start(client)
    query = """
    query Q($p: String!, $withRun: Boolean!) {
      __typename
      me: viewer { ...Who }
      project(name: $p, entityName: "acme") {
        __typename
        bucket(name: "r1") @include(if: $withRun) { name config }
        skipped: bucket(name: "r1") @include(if: false) { name }
      }
    }
    fragment Who on User { username teams { edges { node { name } } } }
    """
    body = client.gql(query, {"p": "mnist", "withRun": True}).json()
    assert "errors" not in body, body
    data = body["data"]
    assert data["__typename"] == "Query"
    assert data["me"] == {"username": "mia", "teams": {"edges": [{"node": {"name": "acme"}}]}}
    assert data["project"]["__typename"] == "Project"
    assert "skipped" not in data["project"]
    assert json.loads(data["project"]["bucket"]["config"]) == {
        "lr": {"desc": None, "value": 0.1}}
    introspection = client.gql('{ __type(name: "UpsertBucketInput") { inputFields { name } } }')
    names = {f["name"] for f in introspection.json()["data"]["__type"]["inputFields"]}
    assert {"modelName", "entityName", "summaryMetrics"} <= names


def test_unknown_operations_get_graphql_errors_not_5xx(
    wandb_for: Callable[..., WandbClient], member: User
) -> None:
    client = wandb_for(member)
    for query in ("mutation { deleteRun(input: {id: \"x\"}) { success } }",
                  "query { viewer { favouriteColour } }", "query {", "{ sweep { id } }"):
        response = client.gql(query)
        assert response.status_code == 200
        assert response.json()["errors"][0]["message"]
    bad = client.client.post("/wandb/graphql", data="not json", content_type="application/json",
                             headers=client.headers)
    assert bad.status_code == 400


def test_entity_rules(wandb_for: Callable[..., WandbClient], member: User, viewer: User,
                      outsider: User) -> None:
    assert start(wandb_for(member), "a", entity=None)["bucket"]["project"]["entity"] == {
        "name": "acme"}
    assert start(wandb_for(member), "b", entity="mia")["inserted"] is True  # the user's name
    refused = wandb_for(viewer).gql(UPSERT, {"name": "c", "project": "mnist", "entity": "acme"})
    assert "cannot log runs" in refused.json()["errors"][0]["message"]
    other = wandb_for(outsider).gql(UPSERT, {"name": "d", "project": "mnist", "entity": "acme"})
    assert "No team named acme" in other.json()["errors"][0]["message"]
    assert not Run.objects.filter(run_id__in=["c", "d"]).exists()
    org = wandb_for(member).gql("""query { entity(name: "acme") {
        organization { name orgEntity { name } } user { organizations { name } } } }""")
    assert org.json()["data"]["entity"]["organization"] == {
        "name": "acme", "orgEntity": {"name": "acme"}}


def test_file_stream_history_retries_order_and_completion(
    wandb_for: Callable[..., WandbClient], member: User
) -> None:
    client = wandb_for(member)
    start(client)
    rows = [json.dumps({"_step": i, "_runtime": 1.5, "loss": v, "name": "x", "flag": True})
            for i, v in enumerate([1.0, 0.5])]
    assert client.stream("r1", history(*rows)).status_code == 200
    # A retry resends the same lines: they are skipped.
    assert client.stream("r1", history(*rows)).status_code == 200
    raw = ('{"_step": 2, "loss": NaN, "val": {"acc": 0.5}, "img": {"_type": "image-file"}}',
           '{"_step": 3, "loss": Infinity}')
    assert client.stream("r1", history(*raw, offset=2)).status_code == 200
    run = Run.objects.get(run_id="r1")
    loss = run.history("loss")
    assert [s for s, _ in loss] == [0, 1, 2, 3] and math.isnan(loss[2][1])
    assert run.metric_names() == ["loss", "val.acc"]
    # Steps going backwards are dropped, never a 4xx (the SDK would lose the rest).
    back = client.stream("r1", history('{"_step": 1, "loss": 9}', offset=4))
    assert back.status_code == 200 and len(run.history("loss")) == 4
    summary = {"files": {"wandb-summary.json": {"offset": 0, "content": [
        json.dumps({"loss": 0.1, "best": "epoch-3", "_wandb": {"runtime": 3}})]}}}
    assert client.stream("r1", summary).status_code == 200
    assert client.stream("r1", {"files": {"output.log": {"offset": 0, "content": [
        "ERROR 2026-12-03T13:00:00 line\n"]}}}).status_code == 200
    assert client.stream("r1", {"complete": True, "exitcode": 0}).status_code == 200
    run.refresh_from_db()
    assert run.state == "finished"
    assert run.summary["loss"] == 0.1 and run.summary["best"] == "epoch-3"
    assert WandbRun.objects.get(run=run).log_lines == 1
    states = [e.data["state"] for e in Event.objects.filter(type="RUN_STATE").order_by("id")]
    assert states == ["running", "finished"]


def test_heartbeats_keep_a_run_alive_and_silence_crashes_it(
    wandb_for: Callable[..., WandbClient], member: User, settings: Any
) -> None:
    client = wandb_for(member)
    start(client, "alive")
    start(client, "silent")
    settings.BEACON_RUN_HEARTBEAT_TIMEOUT = timedelta(minutes=5)
    WandbRun.objects.filter(run__run_id="silent").update(
        last_heartbeat_at=timezone.now() - timedelta(minutes=6))
    WandbRun.objects.filter(run__run_id="alive").update(
        last_heartbeat_at=timezone.now() - timedelta(minutes=6))
    assert client.stream("alive", {}).status_code == 200  # a heartbeat: no files
    assert detect_crashed_runs() == 1
    assert Run.objects.get(run_id="silent").state == "crashed"
    assert Run.objects.get(run_id="alive").state == "running"
    assert detect_crashed_runs() == 0  # once
    # A process that was only unreachable comes back: running again, then it finishes.
    assert client.stream("silent", {}).status_code == 200
    assert Run.objects.get(run_id="silent").state == "running"
    assert client.stream("silent", {"complete": True, "exitcode": 0}).status_code == 200
    assert Run.objects.get(run_id="silent").state == "finished"
    reasons = [e.data.get("reason", "") for e in Event.objects.filter(
        type="RUN_STATE", subject__endswith="/silent").order_by("id")]
    assert "No heartbeat" in reasons[1] and "resumed" in reasons[2]
    # Runs from the JSON API have no heartbeat and never crash this way.
    native = Run.objects.create(project=Run.objects.get(run_id="alive").project, run_id="native")
    native.updated_at = timezone.now() - timedelta(days=1)
    native.save()
    assert detect_crashed_runs() == 0


def test_uploads_need_a_valid_unexpired_signature(
    wandb_for: Callable[..., WandbClient], member: User, settings: Any, artifact_root: Any
) -> None:
    client = wandb_for(member)
    start(client)
    body = client.gql("""mutation { createRunFiles(input: {entityName: "acme",
        projectName: "mnist", runName: "r1", files: ["config.yaml", "../escape"]}) {
        files { name uploadUrl } } }""").json()
    files = {f["name"]: f["uploadUrl"] for f in body["data"]["createRunFiles"]["files"]}
    assert files["../escape"] is None
    url = files["config.yaml"]
    path = url.split("testserver", 1)[1]
    anonymous = Client()
    assert anonymous.put(path, data=b"lr: 0.1", content_type="text/plain").status_code == 200
    stored = list(artifact_root.rglob("config.yaml"))
    assert len(stored) == 1 and stored[0].read_bytes() == b"lr: 0.1"
    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert anonymous.put(forged, data=b"x", content_type="text/plain").status_code == 403
    settings.BEACON_WANDB_UPLOAD_URL_TTL = -1  # every signature has expired
    assert anonymous.put(path, data=b"x", content_type="text/plain").status_code == 403
    assert stored[0].read_bytes() == b"lr: 0.1"


def test_telemetry_posts_are_accepted(wandb_for: Callable[..., WandbClient], member: User) -> None:
    anonymous = Client()
    for path in ("/sdk/otel/v1/metrics", "/wandb/sdk/otel/v1/logs", "/wandb/anything/else"):
        assert anonymous.post(path, data=b"\x00\x01", content_type="application/x-protobuf"
                              ).status_code == 200


def test_a_file_stream_post_larger_than_the_form_limit_is_kept(
    wandb_for: Callable[..., WandbClient], member: User, settings: Any
) -> None:
    client = wandb_for(member)
    start(client)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    output = ["x" * 200 + "\n" for _ in range(50)]
    body = {"files": {"output.log": {"offset": 0, "content": output},
                      "wandb-history.jsonl": {"offset": 0, "content": ['{"_step": 0, "a": 1}']}}}
    assert client.stream("r1", body).status_code == 200
    assert Run.objects.get(run_id="r1").history("a") == [(0, 1.0)]


def test_the_crash_detector_is_scheduled(db: Any) -> None:
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name="beacon-wandb-crashed-runs")
    assert schedule.func == "wandb_api.tasks.detect_crashed_runs"
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == ("I", 1, -1)


def test_listing_runs_costs_the_same_queries_for_few_and_many_runs(
    wandb_for: Callable[..., WandbClient], member: User
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = wandb_for(member)
    query = """
    query Runs { project(name: "mnist", entityName: "acme") {
      runs(first: 100) { edges { node { name notes group jobType exitcode } } } } }"""

    def listing_queries(expected: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            body = client.gql(query).json()
        assert "errors" not in body, body
        assert len(body["data"]["project"]["runs"]["edges"]) == expected
        return len(ctx.captured_queries)

    for n in range(2):
        start(client, f"few-{n}")
    few = listing_queries(2)
    for n in range(12):
        start(client, f"many-{n}")
    assert listing_queries(14) == few
