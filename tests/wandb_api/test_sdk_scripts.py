"""Unmodified ``wandb`` scripts against a live Beacon: runs, metrics, exit codes,
crashes, artifacts, aliases, registry links and the public API's reads.

Tested SDK: wandb 0.31.x (see README, "W&B SDK versions tested")."""

from __future__ import annotations

import math
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from automations.models import Event
from projects.models import Artifact, Run
from registries.models import Registry
from teams.models import ApiKey, Team
from tests.wandb_api.conftest import run_wandb
from wandb_api.models import WandbRun
from wandb_api.tasks import detect_crashed_runs

pytestmark = pytest.mark.usefixtures("transactional_db")


@pytest.fixture
def key(member: User) -> str:
    return ApiKey.issue(member, "laptop")[1]


def test_run_logs_and_fails_with_exit_code_1(live_server: Any, key: str, tmp_path: Path,
                                              member: User, team: Team) -> None:
    out = run_wandb(live_server.url, key, """
        import json, math, wandb
        run = wandb.init(project="mnist", name="baseline", config={"lr": 0.01, "layers": 3},
                         tags=["cnn", "v1"], notes="first try", group="sweep-a",
                         job_type="train")
        for step, loss in enumerate([1.0, 0.5, float("nan"), math.inf, -math.inf, 0.25]):
            run.log({"loss": loss, "acc": step / 10, "label": "text is not a metric"},
                    step=step)
        print("training output on the console")
        run.summary["best_acc"] = 0.5
        run.finish(exit_code=1)
        print(json.dumps({"id": run.id}))
    """, tmp_path)
    run = Run.objects.get(run_id=out.output["id"])
    assert run.project.team == team and run.project.name == "mnist"
    assert run.state == "failed"
    assert run.display_name == "baseline" and run.author == member
    assert run.config == {"lr": 0.01, "layers": 3}
    assert run.tags == ["cnn", "v1"]
    side = WandbRun.objects.get(run=run)
    assert (side.notes, side.group, side.job_type, side.exit_code) == (
        "first try", "sweep-a", "train", 1)
    assert side.log_lines >= 1
    loss = run.history("loss")
    assert [s for s, _ in loss] == [0, 1, 2, 3, 4, 5]
    assert loss[0][1] == 1.0 and math.isnan(loss[2][1])
    assert loss[3][1] == math.inf and loss[4][1] == -math.inf
    assert run.metric_names() == ["acc", "loss"]
    assert run.summary["best_acc"] == 0.5 and run.summary["loss"] == 0.25
    states = [e.data["state"] for e in Event.objects.filter(type="RUN_STATE").order_by("id")]
    assert states == ["running", "failed"]
    metric_events = Event.objects.filter(type="RUN_METRIC")
    assert metric_events and all(e.author_id == member.pk for e in metric_events)


def test_finished_run_reads_back_and_resumes(live_server: Any, key: str,
                                              tmp_path: Path) -> None:
    first = run_wandb(live_server.url, key, """
        import json, wandb
        run = wandb.init(project="mnist", config={"epochs": 2})
        run.log({"loss": 0.9}, step=0)
        run.finish()
        print(json.dumps({"id": run.id}))
    """, tmp_path)
    run_id = first.output["id"]
    assert Run.objects.get(run_id=run_id).state == "finished"
    second = run_wandb(live_server.url, key, f"""
        import json, wandb
        api = wandb.Api()
        read = api.run("acme/mnist/{run_id}")
        before = {{"state": read.state, "config": dict(read.config),
                   "loss": read.summary.get("loss"),
                   "listed": [r.id for r in api.runs("acme/mnist", per_page=1)]}}
        run = wandb.init(project="mnist", id="{run_id}", resume="must")
        run.log({{"loss": 0.5}}, step=1)
        run.finish()
        print(json.dumps(before))
    """, tmp_path)
    assert second.output == {"state": "finished", "config": {"epochs": 2}, "loss": 0.9,
                             "listed": [run_id]}
    run = Run.objects.get(run_id=run_id)
    assert run.state == "finished"
    assert run.history("loss") == [(0, 0.9), (1, 0.5)]
    states = [e.data["state"] for e in Event.objects.filter(type="RUN_STATE").order_by("id")]
    assert states == ["running", "finished", "running", "finished"]


def test_killed_run_is_crashed_after_the_heartbeat_timeout(
    live_server: Any, key: str, tmp_path: Path, settings: Any
) -> None:
    out = run_wandb(live_server.url, key, """
        import json, os, signal, time, wandb
        run = wandb.init(project="mnist", name="doomed")
        run.log({"loss": 1.0}, step=0)
        print(json.dumps({"id": run.id}), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """, tmp_path, check=False)
    assert out.proc.returncode == -9, out.proc.stderr
    run = Run.objects.get(run_id=out.output["id"])
    assert run.state == "running"
    # Within the (default 5 minute) timeout nothing happens.
    assert detect_crashed_runs() == 0
    settings.BEACON_RUN_HEARTBEAT_TIMEOUT = timedelta(seconds=2)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and detect_crashed_runs() == 0:
        time.sleep(0.5)  # wandb-core may post once more before it notices the process died
    run.refresh_from_db()
    assert run.state == "crashed"
    event = Event.objects.filter(type="RUN_STATE").order_by("-id").first()
    assert event.data["state"] == "crashed" and event.data["previous_state"] == "running"
    assert "No heartbeat" in event.data["reason"]


def test_artifact_with_aliases_linked_into_registries_and_read_back(
    live_server: Any, key: str, tmp_path: Path, team: Team, member: User
) -> None:
    Registry.objects.create(team=team, name="prod")
    Registry.objects.create(team=team, name="model")
    code = """
        import json, pathlib, sys, wandb
        content = sys.argv[1] if len(sys.argv) > 1 else "v"
        run = wandb.init(project="mnist", name="trainer")
        pathlib.Path("weights.bin").write_text("weights " + CONTENT)
        art = wandb.Artifact("detector", type="model", metadata={"acc": 0.93, "bad": float("nan")})
        art.add_file("weights.bin")
        logged = run.log_artifact(art, aliases=["best", "candidate"])
        logged.wait()
        run.link_artifact(logged, "wandb-registry-prod/detectors", aliases=["staging"])
        run.link_artifact(logged, "model-registry/legacy", aliases=["production"])
        run.finish()
        api = wandb.Api()
        read = api.artifact("acme/mnist/detector:best")
        linked = api.artifact("acme/wandb-registry-prod/detectors:staging")
        user = wandb.init(project="mnist", name="consumer")
        used = user.use_artifact("detector:latest")
        folder = used.download(root="downloaded")
        user.finish()
        print(json.dumps({"version": logged.version, "aliases": sorted(logged.aliases),
                          "read": [read.version, sorted(read.aliases), read.metadata["acc"]],
                          "linked": [linked.version, linked.aliases],
                          "file": pathlib.Path(folder, "weights.bin").read_text()}))
    """
    first = run_wandb(live_server.url, key, code.replace("CONTENT", "'one'"), tmp_path)
    assert first.output == {
        "version": "v0", "aliases": ["best", "candidate", "latest"],
        "read": ["v0", ["best", "candidate", "latest"], 0.93],
        "linked": ["v0", ["staging"]], "file": "weights one",
    }
    second = run_wandb(live_server.url, key, code.replace("CONTENT", "'two'"), tmp_path)
    assert second.output["version"] == "v1" and second.output["linked"] == ["v1", ["staging"]]
    artifact = Artifact.objects.get(project__name="mnist", name="detector")
    v0, v1 = artifact.versions.order_by("index")
    assert v1.alias_names() == ["best", "candidate", "latest"] and v0.alias_names() == []
    assert v1.metadata == {"acc": 0.93, "bad": None}  # the SDK sends NaN as null
    assert v1.author == member
    prod = Registry.objects.get(team=team, name="prod").collections.get(name="detectors")
    assert [(lv.index, lv.source_id, lv.alias_names()) for lv in
            prod.versions.order_by("index")] == [(0, v0.pk, []), (1, v1.pk, ["staging"])]
    legacy = Registry.objects.get(team=team, name="model").collections.get(name="legacy")
    assert legacy.resolve("production").source == v1
    types = list(Event.objects.exclude(type__startswith="RUN").order_by("id")
                 .values_list("type", flat=True))
    assert types.count("CREATE_ARTIFACT") == 2
    assert types.count("LINK_ARTIFACT") == 4
    registry_alias = Event.objects.filter(type="ADD_ARTIFACT_ALIAS", subject__contains="@staging")
    assert registry_alias.count() == 2
