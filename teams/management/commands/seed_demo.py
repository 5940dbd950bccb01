"""Seed a demo team (used by ``make run``) and print a working login."""

from __future__ import annotations

import math
import random
import secrets as pysecrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from automations.events import validate_filter
from automations.models import Automation
from inbox.models import Inbox
from projects.models import Artifact, Project, Run
from registries.models import Registry
from teams.models import Integration, Membership, Team

SLUG = "demo"
USERNAME = "demo"

# (run id, display name, final state, epochs, learning rate, diverges to NaN)
RUNS = [
    ("baseline-1", "baseline", Run.State.FINISHED, 20, 0.01, False),
    ("wide-cnn-2", "wide CNN", Run.State.FINISHED, 25, 0.005, False),
    ("lr-sweep-3", "lr 0.5", Run.State.FAILED, 12, 0.5, True),
    ("dropout-4", "dropout 0.3", Run.State.CRASHED, 8, 0.01, False),
    ("augment-5", "augmentation", Run.State.RUNNING, 14, 0.003, False),
]


def password_file() -> Path:
    return Path(settings.DATA_DIR) / "demo-login.txt"


def demo_password() -> str:
    """The demo password: generated once, kept in ``data/demo-login.txt``."""
    path = password_file()
    if path.exists():
        stored = path.read_text().strip()
        if stored:
            return stored
    password = pysecrets.token_urlsafe(12)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(password + "\n")
    path.chmod(0o600)
    return password


def demo_history(
    seed: int, epochs: int, lr: float, diverges: bool
) -> list[tuple[int, dict[str, float]]]:
    """A realistic-looking loss/accuracy curve, five rows per epoch.

    A diverging run blows up, logs one NaN loss and stops there."""
    rng = random.Random(seed)
    rows = []
    for step in range(epochs * 5):
        t = step / 5
        loss = 2.3 * math.exp(-t / (3 + 40 * lr)) + 0.05 + rng.uniform(-0.03, 0.03)
        acc = min(0.995, 1 - loss / 2.5 + rng.uniform(-0.01, 0.01))
        if diverges and step >= epochs * 3:
            blown = step - epochs * 3
            loss = math.nan if blown == 3 else loss * 4 ** blown
            acc = 0.1
        rows.append((step, {"loss": round(loss, 5), "acc": round(acc, 5)}))
        if math.isnan(loss):
            break
    return rows


class Command(BaseCommand):
    help = "Create the demo team (unless it exists) and print its login."

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        password = demo_password()
        user = User.objects.filter(username=USERNAME).first()
        if user is None:
            user = User.objects.create_user(USERNAME, "demo@example.com", password)
        elif not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        team = Team.objects.filter(slug=SLUG).first()
        if team is not None:
            self.stdout.write("Demo team already seeded.")
            follow_base_url(team)
        else:
            self.seed(user)
            self.stdout.write(self.style.SUCCESS("Seeded demo team 'demo'."))
        self.stdout.write(f"Log in at {settings.BEACON_BASE_URL}/login/")
        self.stdout.write(f"  username: {USERNAME}")
        self.stdout.write(f"  password: {password}")

    @transaction.atomic
    def seed(self, user: Any) -> None:
        team = Team.objects.create(slug=SLUG, name="Demo ML team")
        Membership.objects.create(team=team, user=user, role=Membership.Role.ADMIN)
        project = Project.objects.create(
            team=team, name="mnist", description="Handwritten digits: CNN experiments."
        )
        for seed, (run_id, name, state, epochs, lr, diverges) in enumerate(RUNS):
            run = Run.start(
                project,
                author=user,
                run_id=run_id,
                display_name=name,
                config={"lr": lr, "epochs": epochs, "batch_size": 64, "optimizer": "adam"},
                tags=["cnn", "demo"],
            )
            run.log_history(demo_history(seed, epochs, lr, diverges), user)
            run.set_state(state, user)
        for i, aliases in enumerate([["v-baseline"], [], ["best", "latest"]]):
            Artifact.log_version(
                project,
                name="mnist-cnn",
                type="model",
                digest=f"sha256:{pysecrets.token_hex(16)}",
                metadata={"accuracy": [0.962, 0.978, 0.987][i], "framework": "pytorch"},
                aliases=aliases,
                author=user,
            )
        dataset, _ = Artifact.log_version(
            project,
            name="mnist-data",
            type="dataset",
            digest="sha256:" + "d" * 32,
            metadata={"rows": 70000},
            aliases=["latest"],
            author=user,
        )
        registry = Registry.objects.create(team=team, name="model", description="Blessed models.")
        models = Artifact.objects.get(project=project, name="mnist-cnn")
        registry.link("mnist-classifier", models.resolve("v1"), aliases=[], author=user)
        registry.link(
            "mnist-classifier", models.resolve("best"), aliases=["staging"], author=user
        )
        Registry.objects.create(team=team, name="dataset").link(
            "mnist", dataset, aliases=["production"], author=user
        )
        seed_automations(team, project, registry, user)


INBOX_NAME = "Demo inbox"


def seed_automations(team: Team, project: Project, registry: Registry, user: Any) -> None:
    """Two working automations that deliver to a request inbox on this Beacon, so a
    new user sees deliveries (signed, in the inbox and in history) at once."""
    inbox = Inbox.objects.create(team=team, name=INBOX_NAME, created_by=user)
    hook = Integration.objects.create(
        team=team, kind=Integration.Kind.WEBHOOK, name="demo-inbox", url=inbox.url
    )
    Automation.objects.create(
        team=team, name="failed-runs-to-inbox", scope_type="project", project=project,
        description="Posts to the demo inbox when an mnist run fails or crashes.",
        event_type="RUN_STATE", filter=validate_filter("project", "RUN_STATE", {
            "states": ["failed"]}),
        action_type=Automation.ActionType.WEBHOOK, integration=hook, created_by=user,
        action_config={"payload": {
            "text": "Run ${run_name} is ${run_status} in ${project_name}",
            "run": "${run_url}", "by": "${event_author}"}},
    )
    Automation.objects.create(
        team=team, name="production-model-to-inbox", scope_type="registry", registry=registry,
        description="Posts to the demo inbox when a model version is promoted to production.",
        event_type="ADD_ARTIFACT_ALIAS", filter=validate_filter("registry", "ADD_ARTIFACT_ALIAS", {
            "alias_regex": "^production$"}),
        action_type=Automation.ActionType.WEBHOOK, integration=hook, created_by=user,
        action_config={"payload": {}},
    )


def follow_base_url(team: Team) -> None:
    """Keep the demo integration pointing at the inbox when PORT / BEACON_BASE_URL change."""
    inbox = Inbox.objects.filter(team=team, name=INBOX_NAME).first()
    if inbox is not None:
        Integration.objects.filter(team=team, name="demo-inbox").exclude(url=inbox.url).update(
            url=inbox.url
        )
