"""Pages: where a run came from, and the two-variable wandb snippet (never a key)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.test import Client

from projects.models import Project, Run, Source
from teams.models import ApiKey
from wandb_api.models import WandbRun


def test_project_page_gives_the_snippet_for_the_current_team(
    client_for: Callable[[User | None], Client], member: User, project: Project
) -> None:
    _, key = ApiKey.issue(member, "laptop")
    page = client_for(member).get(project.get_absolute_url()).content.decode()
    assert "export WANDB_BASE_URL=http://testserver/wandb" in page
    assert "export WANDB_API_KEY=&lt;your Beacon API key&gt;" in page
    assert 'wandb.init(entity="acme", project="mnist")' in page
    assert 'href="/account/"' in page
    assert key not in page and key[:10] not in page


def test_run_pages_show_a_wandb_source(
    client_for: Callable[[User | None], Client], member: User, project: Project
) -> None:
    logged = Run.start(project, author=member, run_id="from-wandb", source=Source.WANDB)
    WandbRun.objects.create(run=logged, group="sweep-a", job_type="train", notes="try")
    native = Run.start(project, author=member, run_id="from-api")
    client = client_for(member)
    listing = client.get(project.get_absolute_url()).content.decode()
    assert listing.count('title="Logged with the wandb SDK"') == 1
    page = client.get(logged.get_absolute_url()).content.decode()
    assert "W&amp;B (wandb SDK)" in page and "sweep-a" in page and "train" in page
    assert "WANDB_BASE_URL" not in page  # the run already logs through wandb
    other = client.get(native.get_absolute_url()).content.decode()
    assert "W&amp;B (wandb SDK)" not in other and "WANDB_BASE_URL" in other


def test_snippet_is_for_members_and_viewers_alike(
    client_for: Callable[[User | None], Client], viewer: User, project: Project, settings: Any
) -> None:
    page = client_for(viewer).get(project.get_absolute_url())
    assert page.status_code == 200 and "WANDB_API_KEY" in page.content.decode()
