"""`seed_demo`: seeds once, and always prints a login that works."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from automations.models import Event
from projects.models import ArtifactVersion, MetricPoint, Run
from registries.models import LinkedVersion
from teams.models import Team


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def counts() -> tuple[int, ...]:
    return tuple(
        m.objects.count()
        for m in (Team, User, Run, MetricPoint, ArtifactVersion, LinkedVersion, Event)
    )


def test_it_seeds_a_demo_team_and_prints_a_working_login(
    db: Any, settings: Any, tmp_path: Path
) -> None:
    settings.DATA_DIR = tmp_path
    settings.BEACON_BASE_URL = "http://127.0.0.1:8123"
    out = seed()
    assert "http://127.0.0.1:8123/login/" in out
    username = re.search(r"username: (\S+)", out).group(1)  # type: ignore[union-attr]
    password = re.search(r"password: (\S+)", out).group(1)  # type: ignore[union-attr]
    assert (tmp_path / "demo-login.txt").read_text().strip() == password

    team = Team.objects.get(slug="demo")
    assert team.name == "Demo ML team"
    runs = Run.objects.filter(project__team=team, project__name="mnist")
    assert runs.count() >= 5
    assert {"finished", "failed", "running"} <= set(runs.values_list("state", flat=True))
    assert MetricPoint.objects.filter(run__project__team=team, value__isnull=True).exists()  # NaN
    assert ArtifactVersion.objects.filter(artifact__project__team=team).count() >= 3
    assert LinkedVersion.objects.filter(collection__registry__name="model").exists()

    client = Client()
    response = client.post("/login/", {"username": username, "password": password})
    assert response.status_code == 302
    home = client.get("/", follow=True)
    assert home.status_code == 200 and "Demo ML team" in home.content.decode()
    for path in ["/t/demo/p/mnist/", "/t/demo/p/mnist/runs/lr-sweep-3/",
                 "/t/demo/p/mnist/artifacts/mnist-cnn/", "/t/demo/r/model/",
                 "/t/demo/settings/"]:
        assert client.get(path).status_code == 200, path


def test_it_is_idempotent_and_keeps_the_password(
    db: Any, settings: Any, tmp_path: Path
) -> None:
    settings.DATA_DIR = tmp_path
    first = seed()
    before = counts()
    second = seed()
    assert counts() == before
    assert "already seeded" in second
    password = re.search(r"password: (\S+)", first).group(1)  # type: ignore[union-attr]
    assert f"password: {password}" in second
    assert Client().login(username="demo", password=password)


def test_a_changed_password_is_reset_to_the_printed_one(
    db: Any, settings: Any, tmp_path: Path
) -> None:
    settings.DATA_DIR = tmp_path
    seed()
    user = User.objects.get(username="demo")
    user.set_password("something-else")
    user.save()
    out = seed()
    password = re.search(r"password: (\S+)", out).group(1)  # type: ignore[union-attr]
    assert Client().login(username="demo", password=password)


def test_the_demo_automations_deliver_to_the_demo_inbox(
    db: Any, settings: Any, tmp_path: Path
) -> None:
    from automations import dispatch
    from automations.models import Automation
    from inbox.models import Inbox
    from teams.models import Integration

    settings.DATA_DIR = tmp_path
    settings.BEACON_BASE_URL = "http://127.0.0.1:8123"
    seed()
    inbox = Inbox.objects.get(team__slug="demo")
    hook = Integration.objects.get(team__slug="demo", name="demo-inbox")
    assert hook.url == inbox.url
    assert set(Automation.objects.values_list("name", flat=True)) == {
        "failed-runs-to-inbox", "production-model-to-inbox"}
    # Seeding itself fires nothing: the automations came after the demo data's events.
    for event in Event.objects.order_by("pk"):
        dispatch.process(event)
    assert not Automation.objects.filter(executions__isnull=False).exists()

    # A demo run failing now matches the project automation, rendered with its variables.
    run = Run.objects.get(run_id="augment-5")
    user = User.objects.get(username="demo")
    run.set_state("failed", user)
    [execution] = dispatch.process(Event.objects.filter(type="RUN_STATE").latest("id"))
    assert execution.automation.name == "failed-runs-to-inbox"
    payload, _ = dispatch.build_payload(execution)
    assert payload["text"] == "Run augmentation is failed in mnist"

    # A server started on another port keeps the integration pointing at the inbox.
    settings.BEACON_BASE_URL = "http://127.0.0.1:9000"
    seed()
    hook.refresh_from_db()
    assert hook.url == inbox.url and hook.url.startswith("http://127.0.0.1:9000/inbox/")
