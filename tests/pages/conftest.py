"""Fixtures of the page tests: a team with data on every page, and the lists of pages."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User

from projects.models import Artifact, ArtifactVersion, Project, Run
from registries.models import LinkedVersion, Registry
from teams.models import Integration, Secret, Team

SECRET_VALUE = "plaintext-Zq8-never-shown-4711"
SLACK_SECRET_VALUE = "https://hooks.slack.example/T000/B000/plaintext-XyZ-0815"


@dataclass
class Filled:
    team: Team
    project: Project
    run: Run
    artifact: Artifact
    v0: ArtifactVersion
    v1: ArtifactVersion
    registry: Registry
    linked: LinkedVersion
    secret: Secret
    slack_secret: Secret
    slack: Integration
    webhook: Integration


@pytest.fixture
def filled(team: Team, project: Project, registry: Registry, admin: User) -> Filled:
    """Something on every page: a run with NaN in its history, two artifact
    versions with an alias, a linked version, two secrets used by integrations."""
    run = Run.start(project, author=admin, run_id="run-1", display_name="baseline",
                    config={"lr": 0.01}, tags=["cnn"])
    run.log_history(
        [(0, {"loss": 2.0, "acc": 0.1}), (1, {"loss": 1.0, "acc": 0.5}),
         (2, {"loss": math.nan, "acc": 0.6}), (3, {"loss": 0.5, "acc": 0.8})],
        admin,
    )
    v0, _ = Artifact.log_version(project, name="mnist-cnn", type="model", digest="d0",
                                 metadata={"acc": 0.9}, aliases=["latest"], author=admin)
    v1, _ = Artifact.log_version(project, name="mnist-cnn", type="model", digest="d1",
                                 metadata={"acc": 0.95}, aliases=[], author=admin)
    linked = registry.link("classifier", v0, aliases=["staging"], author=admin)
    secret = Secret.objects.create(team=team, name="ACCESS_TOKEN", value=SECRET_VALUE)
    slack_secret = Secret.objects.create(team=team, name="SLACK_URL", value=SLACK_SECRET_VALUE)
    slack = Integration.objects.create(team=team, kind="slack", name="alerts",
                                       workspace="acme", channel="#ml-alerts",
                                       webhook_url_secret=slack_secret)
    webhook = Integration.objects.create(team=team, kind="webhook", name="deploy",
                                         url="https://deploy.example.com/hook",
                                         access_token_secret=secret)
    return Filled(team, project, run, v0.artifact, v0, v1, registry, linked, secret,
                  slack_secret, slack, webhook)


def read_pages(f: Filled) -> list[str]:
    """Pages every member of the team can read."""
    t, p = f.team.slug, f.project.name
    return [
        f"/t/{t}/",
        f"/t/{t}/p/{p}/",
        f"/t/{t}/p/{p}/artifacts/",
        f"/t/{t}/p/{p}/runs/{f.run.run_id}/",
        f"/t/{t}/p/{p}/artifacts/{f.artifact.name}/",
        f"/t/{t}/r/{f.registry.name}/",
    ]


def admin_pages(f: Filled) -> list[str]:
    """Pages only team admins may open."""
    t = f.team.slug
    return [
        f"/t/{t}/settings/",
        f"/t/{t}/settings/secrets/",
        f"/t/{t}/settings/integrations/",
        f"/t/{t}/settings/integrations/new/slack/",
        f"/t/{t}/settings/integrations/new/webhook/",
        f"/t/{t}/settings/integrations/{f.slack.pk}/",
        f"/t/{t}/settings/integrations/{f.webhook.pk}/",
        f"/t/{t}/registries/new/",
    ]
