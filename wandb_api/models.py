"""What the W&B protocol needs beyond the domain: a run's wandb side (heartbeat,
notes, group, job type, accepted file-stream offsets) and artifact versions in
the making (created, files uploaded, then committed into a Beacon version)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from projects.models import ArtifactVersion, Project, Run


class WandbRun(models.Model):
    """A run that logs through the W&B endpoint (its source is ``wandb``)."""

    run = models.OneToOneField(Run, models.CASCADE, related_name="wandb")
    notes = models.TextField(blank=True)
    group = models.CharField(max_length=256, blank=True)
    job_type = models.CharField(max_length=256, blank=True)
    # Lines of wandb-history.jsonl / output.log accepted so far: a retried post resends
    # lines from an offset the run already has, and those are skipped.
    history_lines = models.PositiveIntegerField(default=0)
    log_lines = models.PositiveIntegerField(default=0)
    last_heartbeat_at = models.DateTimeField(default=timezone.now, db_index=True)
    exit_code = models.IntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"wandb {self.run}"


class WandbArtifact(models.Model):
    """One ``createArtifact``: pending until ``commitArtifact`` logs the Beacon version."""

    class State(models.TextChoices):
        PENDING = "PENDING", "Pending"
        COMMITTED = "COMMITTED", "Committed"

    project = models.ForeignKey(Project, models.CASCADE, related_name="+")
    run = models.ForeignKey(Run, models.SET_NULL, null=True, blank=True, related_name="+")
    name = models.CharField(max_length=128)
    type = models.CharField(max_length=64)
    digest = models.CharField(max_length=256)
    description = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    aliases = models.JSONField(default=list, blank=True)
    client_id = models.CharField(max_length=128, blank=True, db_index=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    version = models.ForeignKey(
        ArtifactVersion, models.CASCADE, null=True, blank=True, related_name="wandb"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.project}/{self.name} ({self.state})"
