"""The MLflow REST protocol through Django's test client: auth and roles, MLflow's
error shapes, bad input that loses nothing, and other teams' ids."""

from __future__ import annotations

import math
from typing import Any

import pytest

from automations.models import Event
from projects.models import MetricPoint, Project, Run, Source
from tests.mlflow_api.conftest import MlflowClient


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.content
    return response.json()


def error(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error_code", "message"}
    assert body["error_code"] == code
    return body["message"]


@pytest.fixture
def member_ml(mlflow_for: Any, member: Any) -> MlflowClient:
    return mlflow_for(member)


def start(client: MlflowClient, experiment: str = "exp") -> str:
    exp_id = ok(client.post("experiments/create", {"name": experiment}))["experiment_id"]
    run = ok(client.post("runs/create", {"experiment_id": exp_id, "run_name": "r1",
                                         "tags": [{"key": "mlflow.user", "value": "nobody"}]}))
    return run["run"]["info"]["run_id"]


def test_bearer_and_basic_keys_authenticate_and_no_key_is_refused(
    mlflow_for: Any, member: Any
) -> None:
    error(mlflow_for(None).get("experiments/get-by-name", experiment_name="x"),
          401, "UNAUTHENTICATED")
    bad = MlflowClient("bk_not-a-key")
    error(bad.get("experiments/get-by-name", experiment_name="x"), 401, "UNAUTHENTICATED")
    for client in (mlflow_for(member), mlflow_for(member, basic=True)):
        message = error(client.get("experiments/get-by-name", experiment_name="nope"),
                        404, "RESOURCE_DOES_NOT_EXIST")
        assert "nope" in message


def test_a_viewer_key_reads_but_cannot_log(
    mlflow_for: Any, member: Any, viewer: Any
) -> None:
    run_id = start(mlflow_for(member))
    reader = mlflow_for(viewer)
    assert ok(reader.get("runs/get", run_id=run_id))["run"]["info"]["run_name"] == "r1"
    error(reader.post("experiments/create", {"name": "other"}), 403, "PERMISSION_DENIED")
    error(reader.post("runs/log-metric", {"run_id": run_id, "key": "a", "value": 1,
                                          "timestamp": 1, "step": 0}),
          403, "PERMISSION_DENIED")
    error(reader.post("runs/update", {"run_id": run_id, "status": "FAILED"}),
          403, "PERMISSION_DENIED")
    assert not MetricPoint.objects.exists()
    assert Run.objects.get(run_id=run_id).state == Run.State.RUNNING


def test_another_teams_key_and_ids_are_not_found(
    mlflow_for: Any, member: Any, outsider: Any
) -> None:
    run_id = start(mlflow_for(member))
    # The outsider's own team does not hold acme's run; acme is not theirs.
    theirs = mlflow_for(outsider, team="globex")
    error(theirs.get("runs/get", run_id=run_id), 404, "RESOURCE_DOES_NOT_EXIST")
    error(theirs.post("runs/log-batch", {"run_id": run_id, "metrics": [
        {"key": "a", "value": 1, "timestamp": 1, "step": 0}]}), 404, "RESOURCE_DOES_NOT_EXIST")
    exp_id = str(Project.objects.get(name="exp").pk)
    error(theirs.get("experiments/get", experiment_id=exp_id), 404, "RESOURCE_DOES_NOT_EXIST")
    error(mlflow_for(outsider).get("runs/get", run_id=run_id), 404, "RESOURCE_DOES_NOT_EXIST")
    assert not MetricPoint.objects.exists()


def test_unknown_endpoints_answer_endpoint_not_found_in_json(member_ml: MlflowClient) -> None:
    error(member_ml.post("runs/delete", {"run_id": "x"}), 404, "ENDPOINT_NOT_FOUND")
    error(member_ml.get("no/such/thing"), 404, "ENDPOINT_NOT_FOUND")
    error(member_ml.raw("get", "api/2.0/preview/whatever"), 404, "ENDPOINT_NOT_FOUND")
    error(member_ml.raw("get", ""), 404, "ENDPOINT_NOT_FOUND")
    # A known path with another method is not served either.
    error(member_ml.post("runs/get", {"run_id": "x"}), 404, "ENDPOINT_NOT_FOUND")


def test_bad_input_gets_mlflows_error_shape_and_loses_nothing(member_ml: MlflowClient) -> None:
    run_id = start(member_ml)
    ok(member_ml.post("runs/log-batch", {
        "run_id": run_id,
        "metrics": [{"key": "loss", "value": 1.5, "timestamp": 1000, "step": 0}],
        "params": [{"key": "lr", "value": "0.1"}],
        "tags": [{"key": "k", "value": "v"}],
    }))
    bad_bodies = [
        {"run_id": run_id, "metrics": [{"key": "loss", "value": "high", "timestamp": 1,
                                        "step": 1}]},
        {"run_id": run_id, "metrics": [{"key": "loss", "value": 1, "timestamp": 1,
                                        "step": "one"}]},
        {"run_id": run_id, "metrics": [{"key": "", "value": 1, "timestamp": 1, "step": 1}]},
        {"run_id": run_id, "metrics": "not a list"},
        {"run_id": run_id, "params": [{"key": "lr", "value": "0.2"}]},  # params are immutable
        {"run_id": run_id, "tags": [{"key": 5, "value": "x"}]},
        {"run_id": run_id, "metrics": [
            {"key": f"m{i}", "value": i, "timestamp": 1, "step": 1} for i in range(1001)]},
        {"run_id": run_id, "params": [{"key": f"p{i}", "value": "1"} for i in range(101)]},
        {"run_id": run_id, "tags": [{"key": f"t{i}", "value": "1"} for i in range(101)]},
        # A good metric beside a bad param: nothing of the request is stored.
        {"run_id": run_id, "metrics": [{"key": "loss", "value": 9, "timestamp": 1, "step": 5}],
         "params": [{"key": "x" * 300, "value": "1"}]},
    ]
    for body in bad_bodies:
        error(member_ml.post("runs/log-batch", body), 400, "INVALID_PARAMETER_VALUE")
    error(member_ml.post("runs/log-batch", b"{not json"), 400, "INVALID_PARAMETER_VALUE")
    error(member_ml.post("runs/log-metric", {"run_id": "f" * 32, "key": "a", "value": 1,
                                             "timestamp": 1, "step": 0}),
          404, "RESOURCE_DOES_NOT_EXIST")
    error(member_ml.post("runs/update", {"run_id": run_id, "status": "EXPLODED"}),
          400, "INVALID_PARAMETER_VALUE")
    error(member_ml.get("metrics/get-history", run_id=run_id), 400, "INVALID_PARAMETER_VALUE")
    exp_id = str(Project.objects.get(name="exp").pk)
    for bad_filter in ("metrics.a >", "params.lr > '1'", "tags.k = 'v' OR tags.k = 'w'",
                       "metrics.a = 'x'"):
        error(member_ml.post("runs/search", {"experiment_ids": [exp_id], "filter": bad_filter}),
              400, "INVALID_PARAMETER_VALUE")
    error(member_ml.post("runs/search", {"experiment_ids": ["0"]}),
          404, "RESOURCE_DOES_NOT_EXIST")

    run = ok(member_ml.get("runs/get", run_id=run_id))["run"]
    assert [(m["key"], m["value"], m["step"]) for m in run["data"]["metrics"]] == \
        [("loss", 1.5, 0)]
    assert run["data"]["params"] == [{"key": "lr", "value": "0.1"}]
    assert {"key": "k", "value": "v"} in run["data"]["tags"]
    assert MetricPoint.objects.count() == 1
    assert Event.objects.filter(type="RUN_METRIC").count() == 1


def test_experiment_names_that_are_not_project_names_keep_their_mlflow_name(
    member_ml: MlflowClient, team: Any
) -> None:
    exp_id = ok(member_ml.post("experiments/create", {"name": "/Users/mia/My exp"}))[
        "experiment_id"]
    project = Project.objects.get(pk=int(exp_id))
    assert project.team == team and project.name == "Users-mia-My-exp"
    got = ok(member_ml.get("experiments/get-by-name", experiment_name="/Users/mia/My exp"))
    assert got["experiment"]["experiment_id"] == exp_id
    assert got["experiment"]["name"] == "/Users/mia/My exp"
    error(member_ml.post("experiments/create", {"name": "/Users/mia/My exp"}),
          400, "RESOURCE_ALREADY_EXISTS")
    # Another MLflow name mapping to the same project name gets its own project.
    other = ok(member_ml.post("experiments/create", {"name": "Users mia My exp"}))
    assert Project.objects.get(pk=int(other["experiment_id"])).name == "Users-mia-My-exp-2"


def test_runs_carry_mlflows_identity_and_source(
    member_ml: MlflowClient, member: Any
) -> None:
    run_id = start(member_ml)
    run = Run.objects.get(run_id=run_id)
    assert run.source == Source.MLFLOW
    assert run.display_name == "r1"
    assert run.author == member  # "nobody" is not a member of the team
    [event] = Event.objects.filter(type="RUN_STATE")
    assert event.data["state"] == "running"


def test_metrics_in_any_step_order_are_kept_and_evented_in_logged_order(
    member_ml: MlflowClient,
) -> None:
    run_id = start(member_ml)

    def batch(*points: tuple[str, Any, int]) -> None:
        ok(member_ml.post("runs/log-batch", {"run_id": run_id, "metrics": [
            {"key": k, "value": v, "timestamp": 1700000000000 + s, "step": s}
            for k, v, s in points]}))

    batch(("loss", 3, 0), ("loss", 2, 1), ("loss", 1, 2))
    batch(("acc", 0.5, 0))  # another metric, starting at step 0 again
    batch(("loss", 1.5, 1), ("loss", "NaN", 5), ("loss", 0.7, 3))  # backwards twice
    batch(("inf", "Infinity", 0), ("inf", "-Infinity", 1))

    events = list(Event.objects.filter(type="RUN_METRIC").order_by("pk"))
    ranges = [(e.data["metrics"], e.data["first_step"], e.data["last_step"]) for e in events]
    assert ranges == [
        (["loss"], 0, 2), (["acc"], 0, 0), (["loss"], 1, 5), (["loss"], 3, 3), (["inf"], 0, 1),
    ]
    history = ok(member_ml.get("metrics/get-history", run_id=run_id, metric_key="loss"))
    steps = [(m["step"], m["value"]) for m in history["metrics"]]
    assert steps == [(0, 3), (1, 2), (1, 1.5), (2, 1), (3, 0.7), (5, "NaN")]
    assert history["metrics"][0]["timestamp"] == 1700000000000
    run = ok(member_ml.get("runs/get", run_id=run_id))["run"]
    latest = {m["key"]: (m["value"], m["step"]) for m in run["data"]["metrics"]}
    # MLflow's latest value is the highest step's.
    assert latest == {"loss": ("NaN", 5), "acc": (0.5, 0), "inf": ("-Infinity", 1)}
    summary = Run.objects.get(run_id=run_id).summary
    assert summary["loss"] == "NaN" and summary["inf"] == "-Infinity"
    assert math.isnan(Run.objects.get(run_id=run_id).history("loss")[-1][1])


def test_history_pages(member_ml: MlflowClient) -> None:
    run_id = start(member_ml)
    ok(member_ml.post("runs/log-batch", {"run_id": run_id, "metrics": [
        {"key": "x", "value": i, "timestamp": 1, "step": i} for i in range(5)]}))
    first = ok(member_ml.get("metrics/get-history", run_id=run_id, metric_key="x",
                             max_results=3))
    assert [m["step"] for m in first["metrics"]] == [0, 1, 2]
    rest = ok(member_ml.get("metrics/get-history", run_id=run_id, metric_key="x",
                            max_results=3, page_token=first["next_page_token"]))
    assert [m["step"] for m in rest["metrics"]] == [3, 4] and "next_page_token" not in rest
    error(member_ml.get("metrics/get-history", run_id=run_id, metric_key="x",
                        page_token="garbage"), 400, "INVALID_PARAMETER_VALUE")


def test_artifact_paths_cannot_escape_and_need_a_team_run(
    member_ml: MlflowClient, viewer: Any, mlflow_for: Any, artifact_root: Any
) -> None:
    run_id = start(member_ml)
    exp_id = str(Project.objects.get(name="exp").pk)
    base = f"api/2.0/mlflow-artifacts/artifacts/{exp_id}/{run_id}/artifacts"
    assert member_ml.raw("put", f"{base}/a/b.txt", b"hello").status_code == 200
    got = member_ml.raw("get", f"{base}/a/b.txt")
    assert got.status_code == 200 and b"".join(got.streaming_content) == b"hello"
    listing = member_ml.client.get(
        "/mlflow/acme/api/2.0/mlflow-artifacts/artifacts",
        {"path": f"{exp_id}/{run_id}/artifacts"}, headers=member_ml.headers)
    assert listing.json() == {"files": [{"path": "a", "is_dir": True}]}
    error(member_ml.raw("put", f"{base}/../../../escape.txt", b"x"), 400,
          "INVALID_PARAMETER_VALUE")
    error(member_ml.raw("put", f"{base}/a/..%2F..%2Fx", b"x"), 400, "INVALID_PARAMETER_VALUE")
    error(member_ml.raw("put", f"api/2.0/mlflow-artifacts/artifacts/{exp_id}/nope/artifacts/x",
                        b"x"), 404, "RESOURCE_DOES_NOT_EXIST")
    error(mlflow_for(viewer).raw("put", f"{base}/v.txt", b"x"), 403, "PERMISSION_DENIED")
    stored = sorted(p.relative_to(artifact_root).as_posix()
                    for p in artifact_root.rglob("*") if p.is_file())
    assert stored == [f"acme/exp/{run_id}/a/b.txt"]


def test_pages_show_the_source_and_the_two_variables_but_never_a_key(
    mlflow_for: Any, member: Any, client_for: Any
) -> None:
    client = mlflow_for(member)
    ok(client.post("experiments/create", {"name": "My exp"}))
    run_id = ok(client.post("runs/create", {
        "experiment_id": str(Project.objects.get(name="My-exp").pk), "run_name": "r"}))[
        "run"]["info"]["run_id"]
    browser = client_for(member)
    run = Run.objects.get(run_id=run_id)
    project_page = browser.get(run.project.get_absolute_url()).content.decode()
    run_page = browser.get(run.get_absolute_url()).content.decode()
    for page in (project_page, run_page):
        assert "MLFLOW_TRACKING_URI=http://testserver/mlflow/acme" in page
        assert "MLFLOW_TRACKING_TOKEN=&lt;your Beacon API key&gt;" in page
        assert 'href="/account/"' in page
        assert "bk_" not in page
    assert "MLflow experiment <strong>My exp</strong>" in project_page
    assert "<td class=\"hide-narrow small\">MLflow</td>" in project_page
    assert "source-mlflow" in run_page


def test_an_unexpected_error_answers_mlflows_shape_not_a_500(
    member_ml: MlflowClient, monkeypatch: Any
) -> None:
    from mlflow_api import views

    def broken(call: Any) -> dict[str, Any]:
        raise RuntimeError("a bug")

    monkeypatch.setitem(views.ROUTES, ("GET", "runs/get"), broken)
    error(member_ml.get("runs/get", run_id="x"), 400, "BAD_REQUEST")


def test_registry_errors_use_mlflows_codes(
    member_ml: MlflowClient, mlflow_for: Any, outsider: Any
) -> None:
    run_id = start(member_ml)
    ok(member_ml.post("registered-models/create", {"name": "clf"}))
    error(member_ml.post("registered-models/create", {"name": "clf"}),
          400, "RESOURCE_ALREADY_EXISTS")
    error(member_ml.get("registered-models/get", name="nope"), 404, "RESOURCE_DOES_NOT_EXIST")
    error(member_ml.post("model-versions/create", {"name": "clf", "source": "s3://bucket/x"}),
          400, "INVALID_PARAMETER_VALUE")
    error(member_ml.post("model-versions/create", {"name": "clf", "source": "models:/m-00ff"}),
          404, "RESOURCE_DOES_NOT_EXIST")
    version = ok(member_ml.post("model-versions/create", {
        "name": "clf", "source": f"runs:/{run_id}/", "run_id": run_id}))["model_version"]
    assert version["version"] == "1" and version["status"] == "READY"
    error(member_ml.get("model-versions/get", name="clf", version="7"),
          404, "RESOURCE_DOES_NOT_EXIST")
    error(member_ml.get("model-versions/get", name="clf", version="x"),
          400, "INVALID_PARAMETER_VALUE")
    for bad in ("v3", "latest", "no spaces"):
        error(member_ml.post("registered-models/alias",
                             {"name": "clf", "alias": bad, "version": "1"}),
              400, "INVALID_PARAMETER_VALUE")
    error(member_ml.get("registered-models/alias", name="clf", alias="champion"),
          404, "RESOURCE_DOES_NOT_EXIST")
    theirs = mlflow_for(outsider, team="globex")
    error(theirs.get("registered-models/get", name="clf"), 404, "RESOURCE_DOES_NOT_EXIST")
    error(theirs.post("registered-models/alias", {"name": "clf", "alias": "a", "version": "1"}),
          404, "RESOURCE_DOES_NOT_EXIST")
    assert not Event.objects.filter(type="ADD_ARTIFACT_ALIAS").exists()
    assert Event.objects.filter(type="LINK_ARTIFACT").count() == 1
    # Deleting a version unlinks it; its number is never given again.
    ok(member_ml.post("model-versions/delete", {"name": "clf", "version": "1"}, method="delete"))
    assert Event.objects.filter(type="UNLINK_ARTIFACT").count() == 1
    error(member_ml.get("model-versions/get", name="clf", version="1"),
          404, "RESOURCE_DOES_NOT_EXIST")
    again = ok(member_ml.post("model-versions/create", {
        "name": "clf", "source": f"runs:/{run_id}/", "run_id": run_id}))["model_version"]
    assert again["version"] == "2"


def test_the_team_chooses_the_registry_of_mlflow_models(
    member_ml: MlflowClient, team: Any
) -> None:
    from mlflow_api.models import TeamSettings
    from registries.models import Registry

    TeamSettings.objects.create(team=team, registry_name="prod-models")
    ok(member_ml.post("registered-models/create", {
        "name": "clf", "tags": [{"key": "task", "value": "churn"}]}))
    registry = Registry.objects.get(team=team)
    assert registry.name == "prod-models"
    [collection] = registry.collections.all()
    assert collection.name == "clf" and collection.tags == ["task.churn"]
    ok(member_ml.post("registered-models/set-tag", {"name": "clf", "key": "task",
                                                    "value": "fraud"}))
    collection.refresh_from_db()
    assert collection.tags == ["task.fraud"]
    ok(member_ml.post("registered-models/delete-tag", {"name": "clf", "key": "task"},
                      method="delete"))
    collection.refresh_from_db()
    assert collection.tags == []
    assert [e.type for e in Event.objects.order_by("pk")] == [
        "ADD_COLLECTION_TAG", "REMOVE_COLLECTION_TAG", "ADD_COLLECTION_TAG",
        "REMOVE_COLLECTION_TAG"]


def test_the_mlflow_prefix_never_answers_html(member_ml: MlflowClient) -> None:
    for path in ("/mlflow/acme", "/mlflow/", "/mlflow/acme/#/experiments/1"):
        response = member_ml.client.get(path, headers=member_ml.headers)
        error(response, 404, "ENDPOINT_NOT_FOUND")


def test_runs_of_beacons_own_api_are_readable_and_writable_through_mlflow(
    member_ml: MlflowClient, member_api: Any, project: Project
) -> None:
    assert member_api.post("/teams/acme/projects/mnist/runs",
                           json={"id": "native-1", "tags": ["baseline"],
                                 "config": {"lr": 0.1}}).status_code == 201
    run = ok(member_ml.get("runs/get", run_id="native-1"))["run"]
    assert run["info"]["experiment_id"] == str(project.pk)
    assert {"key": "baseline", "value": ""} in run["data"]["tags"]
    assert run["data"]["params"] == [{"key": "lr", "value": "0.1"}]
    found = ok(member_ml.post("runs/search", {"experiment_ids": [str(project.pk)],
                                              "filter": "tags.baseline = ''"}))
    assert [r["info"]["run_id"] for r in found["runs"]] == ["native-1"]
    ok(member_ml.post("runs/set-tag", {"run_id": "native-1", "key": "k", "value": "v"}))
    ok(member_ml.post("runs/update", {"run_id": "native-1", "status": "FINISHED"}))
    stored = Run.objects.get(run_id="native-1")
    assert stored.tags == ["baseline", "k:v"] and stored.state == "finished"
    assert stored.source == Source.API
    mlflow_run = start(member_ml)
    sources = {r["id"]: r["source"] for r in
               member_api.get("/teams/acme/projects/exp/runs").json()}
    assert sources == {mlflow_run: "mlflow"}
    assert member_api.get("/teams/acme/projects/mnist/runs/native-1").json()["source"] == "api"


def test_search_runs_costs_the_same_queries_for_few_and_many_runs(
    member_ml: MlflowClient, member: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    exp_id = ok(member_ml.post("experiments/create", {"name": "many"}))["experiment_id"]
    project = Project.objects.get(pk=int(exp_id))

    def search_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            found = ok(member_ml.post("runs/search", {
                "experiment_ids": [exp_id], "filter": "metrics.loss > 0", "max_results": 2,
            }))
        assert len(found["runs"]) == 2
        return len(ctx.captured_queries)

    for n in range(3):
        Run.start(project, author=member, run_id=f"few-{n}").log_history(
            [(0, {"loss": 1.0 + n})], member)
    few = search_queries()
    for n in range(20):
        Run.start(project, author=member, run_id=f"many-{n}").log_history(
            [(0, {"loss": 1.0 + n})], member)
    assert search_queries() == few
