"""The W&B side of runs and artifacts is in the Django admin."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from projects.models import Artifact, Project, Run
from wandb_api.models import WandbArtifact, WandbRun


def test_wandb_admin_pages_open(admin: User, project: Project) -> None:
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client = Client()
    client.force_login(admin)
    run = Run.start(project, author=admin, run_id="r1")
    side = WandbRun.objects.create(run=run)
    version, _ = Artifact.log_version(project, name="m", type="model", digest="d", author=admin)
    wa = WandbArtifact.objects.create(project=project, name="m", type="model", digest="d",
                                      state="COMMITTED", version=version)
    for name, obj in (("wandbrun", side), ("wandbartifact", wa)):
        assert client.get(reverse(f"admin:wandb_api_{name}_changelist")).status_code == 200
        assert client.get(reverse(f"admin:wandb_api_{name}_change", args=[obj.pk])
                          ).status_code == 200
