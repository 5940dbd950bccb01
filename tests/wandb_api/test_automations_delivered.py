"""End to end: a real wandb script against a live Beacon, a real qcluster worker and a
loopback receiver — the script's run state, metrics, artifact and registry link become
events that automations deliver, exactly as from the JSON API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from registries.models import Registry
from teams.models import ApiKey, Team
from tests.support.qcluster import running_qcluster
from tests.support.receiver import Receiver
from tests.wandb_api.conftest import run_wandb

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("transactional_db")]

T = "/teams/acme"


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.content
    return response.json()


def automation(admin_api: Any, name: str, scope: tuple[str, str], event: dict[str, Any],
               payload: dict[str, Any]) -> None:
    ok(admin_api.post(f"{T}/automations", json={
        "name": name, "scope": {"type": scope[0], "name": scope[1]}, "event": event,
        "action": {"type": "WEBHOOK", "integration": "hook", "payload": payload},
    }), 201)


def test_wandb_script_events_are_delivered(live_server: Any, receiver: Receiver, admin_api: Any,
                                           member: User, team: Team, project: Any,
                                           tmp_path: Path) -> None:
    Registry.objects.create(team=team, name="model")
    ok(admin_api.post(f"{T}/integrations", json={
        "kind": "webhook", "name": "hook", "url": receiver.url("/hook")}), 201)
    automation(admin_api, "failed", ("project", "mnist"),
               {"type": "RUN_STATE", "filter": {"states": ["failed"]}},
               {"kind": "state", "text": "${run_name} is ${run_status}", "by": "${event_author}"})
    automation(admin_api, "nan", ("project", "mnist"),
               {"type": "RUN_METRIC_THRESHOLD",
                "filter": {"metric": "loss", "window": 1, "agg": "max", "cmp": "nonfinite"}},
               {"kind": "nan", "step": "${metric_step}"})
    automation(admin_api, "new-model", ("project", "mnist"),
               {"type": "CREATE_ARTIFACT", "filter": {}},
               {"kind": "artifact", "ref": "${artifact_version_string}"})
    automation(admin_api, "linked", ("registry", "model"),
               {"type": "LINK_ARTIFACT", "filter": {}},
               {"kind": "link", "ref": "${artifact_version_string}"})
    key = ApiKey.issue(member, "trainer")[1]
    with running_qcluster():
        run_wandb(live_server.url, key, """
            import json, pathlib, wandb
            run = wandb.init(project="mnist", name="exploding")
            for step, loss in enumerate([1.0, 0.7, float("nan")]):
                run.log({"loss": loss}, step=step)
            pathlib.Path("model.pt").write_text("weights")
            art = wandb.Artifact("cnn", type="model")
            art.add_file("model.pt")
            logged = run.log_artifact(art, aliases=["best"])
            logged.wait()
            run.link_artifact(logged, "model-registry/classifier", aliases=["staging"])
            run.finish(exit_code=3)
            print(json.dumps({"id": run.id}))
        """, tmp_path)
        got = receiver.wait_for(4, path="/hook", timeout=120, settle=2)
    by_kind = {r.json()["kind"]: r.json() for r in got}
    assert len(got) == 4, [r.json() for r in got]
    assert by_kind["state"] == {"kind": "state", "text": "exploding is failed", "by": "mia"}
    assert str(by_kind["nan"]["step"]) == "2"
    assert by_kind["artifact"]["ref"] == "acme/mnist/cnn:v0"
    assert by_kind["link"]["ref"] == "acme/model/classifier:v0"
