"""End to end: an unmodified MLflow script's runs, metrics, models and aliases trigger
automations, delivered by a real qcluster worker to a loopback receiver, signed the
Standard Webhooks way and the MLflow way."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from standardwebhooks import Webhook

from teams.models import ApiKey
from tests.mlflow_api.conftest import run_script
from tests.mlflow_api.test_webhook_signatures import mlflow_verify
from tests.support.qcluster import QCluster, running_qcluster, wait_until_quiet
from tests.support.receiver import Receiver

pytestmark = pytest.mark.integration

T = "/teams/acme"

SCRIPT = r'''
import json, math
import mlflow
from mlflow import MlflowClient

class Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input

mlflow.set_experiment("mnist")
with mlflow.start_run(run_name="good") as run:
    mlflow.log_metric("loss", 0.5, step=0)
    info = mlflow.pyfunc.log_model(name="cnn", python_model=Echo(), pip_requirements=["mlflow"])
v = mlflow.register_model(info.model_uri, "mnist-classifier")
MlflowClient().set_registered_model_alias("mnist-classifier", "production", v.version)
try:
    with mlflow.start_run(run_name="sweep-7"):
        for step, loss in enumerate([1.0, 0.8, math.nan]):
            mlflow.log_metric("loss", loss, step=step)
        raise ValueError("loss is NaN")
except ValueError:
    pass
print(json.dumps({"version": v.version}))
'''


@pytest.fixture(scope="module")
def cluster(django_db_setup: Any) -> Iterator[QCluster]:
    with running_qcluster(env={"BEACON_RETRY_SCHEDULE": "0,1,1"}) as worker:
        yield worker


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.content
    return response.json()


def test_an_mlflow_script_triggers_automations_delivered_once_and_signed(
    cluster: QCluster, live_server: Any, receiver: Receiver, admin_api: Any, member: Any,
    project: Any, registry: Any,
) -> None:
    hook = ok(admin_api.post(f"{T}/integrations", json={
        "kind": "webhook", "name": "ml", "url": receiver.url("/ml"), "mlflow_signatures": True,
    }), 201)

    def automation(name: str, scope: tuple[str, str], event: dict[str, Any]) -> None:
        ok(admin_api.post(f"{T}/automations", json={
            "name": name, "scope": {"type": scope[0], "name": scope[1]}, "event": event,
            "action": {"type": "WEBHOOK", "integration": "ml",
                       "payload": {"kind": name, "by": "${event_author}"}},
        }), 201)

    automation("failed", ("project", "mnist"),
               {"type": "RUN_STATE", "filter": {"states": ["failed"]}})
    automation("nan-loss", ("project", "mnist"),
               {"type": "RUN_METRIC_THRESHOLD",
                "filter": {"metric": "loss", "window": 1, "agg": "max", "cmp": "nonfinite"}})
    automation("new-model", ("project", "mnist"),
               {"type": "CREATE_ARTIFACT", "filter": {"artifact_type": "model"}})
    automation("linked", ("registry", "model"),
               {"type": "LINK_ARTIFACT", "filter": {"collection": "mnist-classifier"}})
    automation("production", ("registry", "model"),
               {"type": "ADD_ARTIFACT_ALIAS", "filter": {"alias_regex": "^production$"}})

    key = ApiKey.issue(member, "mlflow")[1]
    proc, out = run_script(live_server.url, "acme", key, SCRIPT)
    assert proc.returncode == 0 and out == {"version": "1"}, proc.stderr[-4000:]
    wait_until_quiet(timeout=60.0)

    got = receiver.received("/ml")
    kinds = sorted(r.json()["kind"] for r in got)
    assert kinds == ["failed", "linked", "nan-loss", "new-model", "production"], kinds
    assert {r.json()["by"] for r in got} == {"mia"}
    signer = Webhook(hook["signing_secret"])
    for request in got:
        signer.verify(request.body, request.headers)
        assert mlflow_verify(hook["signing_secret"], request.headers, request.text)
        assert request.headers["X-MLflow-Delivery-Id"] == request.headers["webhook-id"]
