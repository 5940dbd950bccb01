"""What the MLflow protocol knows that Beacon's domain does not keep.

Beacon's Project, Run, ArtifactVersion and LinkedVersion hold the data; these
rows only remember MLflow's own names, ids, key/value tags and timestamps so
that answers round-trip exactly."""

from __future__ import annotations

import secrets as pysecrets

from django.db import models
from django.utils import timezone

from teams.models import name_validator


class Experiment(models.Model):
    """The MLflow name of a project created through MLflow (experiment → project).

    An experiment whose name is not a valid project name lives in a project with a
    valid name; this row keeps the name MLflow uses."""

    team = models.ForeignKey("teams.Team", models.CASCADE, related_name="+")
    project = models.OneToOneField(
        "projects.Project", models.CASCADE, related_name="mlflow_experiment"
    )
    name = models.CharField(max_length=500)
    tags = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="mlflow_experiment_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class RunRecord(models.Model):
    """MLflow's view of a run: exact key/value tags, the client's user and times (ms)."""

    run = models.OneToOneField("projects.Run", models.CASCADE, related_name="mlflow")
    user_id = models.CharField(max_length=256, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    start_time = models.BigIntegerField()
    end_time = models.BigIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"MLflow record of {self.run_id}"


def generate_model_id() -> str:
    return "m-" + pysecrets.token_hex(16)


class LoggedModel(models.Model):
    """An MLflow 3 logged model; once finalized it is a ``model`` artifact version."""

    class Status(models.TextChoices):
        PENDING = "LOGGED_MODEL_PENDING"
        READY = "LOGGED_MODEL_READY"
        FAILED = "LOGGED_MODEL_UPLOAD_FAILED"

    model_id = models.CharField(max_length=64, unique=True, default=generate_model_id)
    project = models.ForeignKey("projects.Project", models.CASCADE, related_name="+")
    run = models.ForeignKey(
        "projects.Run", models.SET_NULL, null=True, blank=True, related_name="+"
    )
    name = models.CharField(max_length=256)
    model_type = models.CharField(max_length=256, blank=True)
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.PENDING)
    params = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    # [{"key", "value", "timestamp", "step", "run_id"}]: metrics logged with this model_id.
    metrics = models.JSONField(default=list, blank=True)
    version = models.ForeignKey(
        "projects.ArtifactVersion", models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.model_id


class RegisteredModel(models.Model):
    """An MLflow registered model: a collection of the team's MLflow registry."""

    team = models.ForeignKey("teams.Team", models.CASCADE, related_name="+")
    collection = models.OneToOneField(
        "registries.Collection", models.CASCADE, related_name="mlflow_model"
    )
    name = models.CharField(max_length=256)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=dict, blank=True)
    # MLflow numbers versions 1, 2, …; a deleted version's number is not given again.
    next_version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="mlflow_model_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class ModelVersion(models.Model):
    """An MLflow model version: a linked version, with MLflow's own number (1, 2, …)."""

    registered_model = models.ForeignKey(
        RegisteredModel, models.CASCADE, related_name="versions"
    )
    linked = models.OneToOneField(
        "registries.LinkedVersion", models.CASCADE, related_name="mlflow_version"
    )
    version = models.PositiveIntegerField()
    source = models.CharField(max_length=1024, blank=True)
    run_id = models.CharField(max_length=128, blank=True)
    model_id = models.CharField(max_length=64, blank=True)
    description = models.TextField(blank=True)
    user_id = models.CharField(max_length=256, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["registered_model", "version"], name="mlflow_version_unique_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.registered_model.name} v{self.version}"


class TeamSettings(models.Model):
    """Per team: the registry MLflow's registered models go to (default ``model``)."""

    team = models.OneToOneField("teams.Team", models.CASCADE, related_name="mlflow_settings")
    registry_name = models.CharField(max_length=128, default="model", validators=[name_validator])

    def __str__(self) -> str:
        return f"MLflow settings of {self.team_id}"
