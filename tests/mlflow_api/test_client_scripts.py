"""Real ``mlflow`` 3.x scripts, run as a user would with only MLFLOW_TRACKING_URI and
MLFLOW_TRACKING_TOKEN set, against a live test server; then Beacon's state."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from automations.models import Event
from mlflow_api.models import LoggedModel, ModelVersion, RegisteredModel
from projects.models import ArtifactVersion, Project, Run, Source
from registries.models import LinkedVersion, Registry
from teams.models import ApiKey
from tests.mlflow_api.conftest import run_script

pytestmark = pytest.mark.integration

TRACKING = r'''
import json, math, time
import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag

out = {}
mlflow.set_experiment("vision/resnet sweep")
with mlflow.start_run(run_name="lr-0.1", tags={"team": "vision", "mlflow.user": "mia"}) as run:
    mlflow.log_param("lr", "0.1")
    mlflow.log_params({"epochs": 3, "opt": "adam"})
    for step in range(3):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step, timestamp=1700000000000 + step)
    mlflow.log_metrics({"acc": 0.95, "nan": math.nan, "inf": math.inf, "ninf": -math.inf})
    mlflow.log_metric("loss", 0.75, step=1)  # a step logged again, out of order
    mlflow.set_tag("stage", "dev")
    MlflowClient().log_batch(run.info.run_id, metrics=[
        Metric("val", 0.5, int(time.time() * 1000), 0), Metric("val", 0.4, 0, 1)],
        params=[Param("batch", "32")], tags=[RunTag("k", "v")])
good = run.info.run_id

with mlflow.start_run(run_name="lr-0.01") as run:
    mlflow.log_param("lr", "0.01")
    mlflow.log_metric("acc", 0.7)
mid = run.info.run_id

try:
    with mlflow.start_run(run_name="crashes") as run:
        mlflow.log_metric("loss", 2.0, step=0)
        raise RuntimeError("diverged")
except RuntimeError:
    pass
crashed = run.info.run_id

run = mlflow.start_run(run_name="stopped")
mlflow.end_run("KILLED")
killed = run.info.run_id

client = MlflowClient()
exp = mlflow.get_experiment_by_name("vision/resnet sweep")
ids = [exp.experiment_id]
r = client.get_run(good)

def names(filter_string="", order_by=None):
    return [x.info.run_name for x in client.search_runs(ids, filter_string, order_by=order_by)]

pages, token = [], None
while True:
    page = client.search_runs(ids, "", max_results=1, page_token=token,
                              order_by=["attributes.start_time ASC"])
    pages.append([x.info.run_name for x in page])
    token = page.token
    if not token:
        break

out.update(
    ids={"good": good, "crashed": crashed, "killed": killed, "mid": mid},
    status={x: client.get_run(i).info.status for x, i in
            [("good", good), ("crashed", crashed), ("killed", killed)]},
    run_name=r.info.run_name,
    params=r.data.params,
    metrics={k: str(v) for k, v in r.data.metrics.items()},
    tags={k: v for k, v in r.data.tags.items() if k in ("team", "stage", "k", "mlflow.user")},
    history=[(m.step, m.value, m.timestamp) for m in client.get_metric_history(good, "loss")],
    experiments=[e.name for e in client.search_experiments()],
    experiment_by_id=client.get_experiment(exp.experiment_id).name,
    acc_gt=names("metrics.acc > 0.9"),
    lr=names("params.lr = '0.1'"),
    tag=names("tags.team = 'vision'"),
    failed=names("attributes.status = 'FAILED'"),
    like=names("attributes.run_name LIKE 'lr-%'", ["attributes.run_name ASC"]),
    both=names("metrics.acc > 0.5 AND params.lr = '0.01'"),
    by_acc=names("", ["metrics.acc DESC"]),
    pages=pages,
    df_rows=len(mlflow.search_runs(ids, filter_string="params.lr LIKE '0.%'")),
)
print(json.dumps(out))
'''


@pytest.fixture
def mia_key(member: Any) -> str:
    return ApiKey.issue(member, "mlflow")[1]


def test_a_training_script_logs_runs_metrics_and_states(
    live_server: Any, team: Any, member: Any, mia_key: str
) -> None:
    proc, out = run_script(live_server.url, "acme", mia_key, TRACKING)
    assert proc.returncode == 0 and out, proc.stderr[-4000:]

    assert out["status"] == {"good": "FINISHED", "crashed": "FAILED", "killed": "KILLED"}
    assert out["run_name"] == "lr-0.1"
    assert out["params"] == {"lr": "0.1", "epochs": "3", "opt": "adam", "batch": "32"}
    assert out["metrics"] == {"loss": "0.3333333333333333", "acc": "0.95", "nan": "nan",
                              "inf": "inf", "ninf": "-inf", "val": "0.4"}
    assert out["tags"] == {"team": "vision", "stage": "dev", "k": "v", "mlflow.user": "mia"}
    assert [(s, v) for s, v, _ in out["history"]] == [(0, 1.0), (1, 0.5), (1, 0.75),
                                                       (2, 1 / 3)]
    assert out["history"][0][2] == 1700000000000
    assert out["experiments"] == ["vision/resnet sweep"]
    assert out["experiment_by_id"] == "vision/resnet sweep"
    assert out["acc_gt"] == ["lr-0.1"]
    assert out["lr"] == ["lr-0.1"]
    assert out["tag"] == ["lr-0.1"]
    assert out["failed"] == ["crashes"]
    assert out["like"] == ["lr-0.01", "lr-0.1"]
    assert out["both"] == ["lr-0.01"]
    assert out["by_acc"][:2] == ["lr-0.1", "lr-0.01"]
    assert out["pages"] == [["lr-0.1"], ["lr-0.01"], ["crashes"], ["stopped"]]
    assert out["df_rows"] == 2

    # Beacon's side: one project, runs with the same ids, params as config, events.
    project = Project.objects.get(team=team)
    assert project.name == "vision-resnet-sweep"
    good = Run.objects.get(run_id=out["ids"]["good"])
    assert good.project == project and good.source == Source.MLFLOW
    assert good.display_name == "lr-0.1" and good.author == member
    assert good.config["lr"] == "0.1" and good.state == Run.State.FINISHED
    assert sorted(good.tags) == ["k:v", "stage:dev", "team:vision"]
    assert good.summary["nan"] == "NaN" and good.summary["ninf"] == "-Infinity"
    assert Run.objects.get(run_id=out["ids"]["crashed"]).state == Run.State.FAILED
    assert Run.objects.get(run_id=out["ids"]["killed"]).state == Run.State.KILLED
    states = [
        (e.data["run"]["name"], e.data["state"])
        for e in Event.objects.filter(type="RUN_STATE").order_by("pk")
    ]
    assert ("crashes", "failed") in states and ("stopped", "killed") in states
    assert ("lr-0.1", "finished") in states
    assert all(e.author == member for e in Event.objects.all())
    metric_events = [
        (e.data["metrics"], e.data["first_step"], e.data["last_step"])
        for e in Event.objects.filter(type="RUN_METRIC").order_by("pk")
        if e.data["run"]["id"] == good.run_id
    ]
    # One per log call, in logged order; the step logged again is an event of its own.
    assert metric_events == [
        (["loss"], 0, 0), (["loss"], 1, 1), (["loss"], 2, 2),
        (["acc", "inf", "nan", "ninf"], 0, 0), (["loss"], 1, 1), (["val"], 0, 1),
    ]


MODELS = r'''
import json, os, tempfile
import mlflow
from mlflow import MlflowClient

class Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input

mlflow.set_experiment("churn")
with mlflow.start_run(run_name="train") as run:
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "notes.txt")
    with open(path, "w") as f:
        f.write("hello")
    mlflow.log_artifact(path)
    mlflow.log_artifacts(folder, artifact_path="docs")
    mlflow.log_dict({"layers": 3}, "config/model.json")
    mlflow.log_text("some text", "report.txt")
    mlflow.log_metric("auc", 0.91, step=0)
    info = mlflow.pyfunc.log_model(name="model", python_model=Echo(), pip_requirements=["mlflow"])
run_id = run.info.run_id
client = MlflowClient()
v1 = mlflow.register_model(f"runs:/{run_id}/model", "Churn Model")
v2 = mlflow.register_model(info.model_uri, "Churn Model")
client.set_registered_model_alias("Churn Model", "champion", v1.version)
client.set_registered_model_alias("Churn Model", "champion", v2.version)
by_alias = client.get_model_version_by_alias("Churn Model", "champion").version
client.set_registered_model_alias("Churn Model", "staging", v1.version)
client.delete_registered_model_alias("Churn Model", "staging")
try:
    client.get_model_version_by_alias("Churn Model", "staging")
    staging_gone = False
except mlflow.exceptions.MlflowException as exc:
    staging_gone = exc.error_code == "RESOURCE_DOES_NOT_EXIST"
client.set_model_version_tag("Churn Model", v2.version, "validation", "passed")
loaded = mlflow.pyfunc.load_model("models:/Churn Model@champion")
print(json.dumps({
    "run_id": run_id,
    "model_id": info.model_id,
    "versions": [v1.version, v2.version],
    "by_alias": by_alias,
    "staging_gone": staging_gone,
    "tags": client.get_model_version("Churn Model", v2.version).tags,
    "prediction": list(loaded.predict([1, 2])),
    "files": sorted(f.path for f in client.list_artifacts(run_id)),
    "dict": mlflow.artifacts.load_dict(f"runs:/{run_id}/config/model.json"),
    "text": mlflow.artifacts.load_text(f"runs:/{run_id}/report.txt"),
    "model_metrics": [(m.key, m.value) for m in client.get_logged_model(info.model_id).metrics],
    "auc_history": len(client.get_metric_history(run_id, "auc")),
}))
'''


def test_files_models_registrations_aliases_and_tags(
    live_server: Any, team: Any, member: Any, mia_key: str, artifact_root: Any
) -> None:
    proc, out = run_script(live_server.url, "acme", mia_key, MODELS)
    assert proc.returncode == 0 and out, proc.stderr[-4000:]
    assert out["versions"] == ["1", "2"]
    assert out["by_alias"] == "2"
    assert out["staging_gone"] is True
    assert out["tags"] == {"validation": "passed"}
    assert out["prediction"] == [1, 2]
    assert out["files"] == ["config", "docs", "notes.txt", "report.txt"]
    assert out["dict"] == {"layers": 3} and out["text"] == "some text"
    # log_model re-sends the run's step-0 metrics with the model's id: they go to the
    # model and are not logged to the run a second time.
    assert out["model_metrics"] == [["auc", 0.91]]
    assert out["auc_history"] == 1

    run = Run.objects.get(run_id=out["run_id"])
    assert run.metric_points.count() == 1
    files = sorted(p.relative_to(artifact_root).as_posix()
                   for p in artifact_root.rglob("*") if p.is_file())
    assert f"acme/churn/{run.run_id}/config/model.json" in files
    assert any(f.startswith(f"acme/churn/_models/{out['model_id']}/") and f.endswith("MLmodel")
               for f in files)

    # The logged model is a "model" artifact version from MLflow.
    model = LoggedModel.objects.get(model_id=out["model_id"])
    version = model.version
    assert version is not None and version.artifact.type == "model"
    assert version.artifact.name == "model" and version.source == Source.MLFLOW
    assert version.metadata["mlflow_model_id"] == out["model_id"]
    assert ArtifactVersion.objects.count() == 1
    # Registered model → collection of the team's "model" registry; versions → links.
    registry = Registry.objects.get(team=team, name="model")
    rm = RegisteredModel.objects.get(team=team, name="Churn Model")
    assert rm.collection.registry == registry and rm.collection.name == "Churn-Model"
    links = list(LinkedVersion.objects.filter(collection=rm.collection).order_by("index"))
    assert [lv.source for lv in links] == [version, version]
    assert all(lv.via == Source.MLFLOW for lv in links)
    assert [mv.version for mv in ModelVersion.objects.order_by("version")] == [1, 2]
    assert links[1].alias_names() == ["champion"] and links[0].alias_names() == []
    assert links[1].tags == ["validation.passed"]

    events = [(e.type, e.scope_type) for e in Event.objects.order_by("pk")]
    assert events.count(("CREATE_ARTIFACT", "project")) == 1
    assert events.count(("LINK_ARTIFACT", "registry")) == 2
    aliased = Event.objects.filter(type="ADD_ARTIFACT_ALIAS").order_by("pk")
    alias_events = [(e.data["alias"], e.scope_type) for e in aliased]
    assert alias_events == [("champion", "registry"), ("champion", "registry"),
                            ("staging", "registry")]
    assert Event.objects.filter(type="ADD_ARTIFACT_TAG", scope_type="registry").count() == 1
    assert all(e.author == member for e in Event.objects.all())

    # The run page links the files, which download for a team member.
    from django.test import Client

    browser = Client()
    browser.force_login(member)
    page = browser.get(run.get_absolute_url()).content.decode()
    url = reverse("run_file", args=["acme", "churn", run.run_id, "config/model.json"])
    assert url in page
    registry_page = browser.get(registry.get_absolute_url()).content.decode()
    assert "MLflow 1" in registry_page and "MLflow 2" in registry_page
    assert "via MLflow" in registry_page
    download = browser.get(url)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b'{\n  "layers": 3\n}'
