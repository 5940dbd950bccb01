"""Automations, the events they react to, and what they did (executions and attempts)."""

from __future__ import annotations

import secrets as pysecrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from automations.subjects import absolute_url
from projects.models import Project
from registries.models import Registry
from teams.models import Integration, Team, name_validator


class Scope(models.TextChoices):
    PROJECT = "project", "Project"
    REGISTRY = "registry", "Registry"


class Event(models.Model):
    """A durable record of something that happened, stored before any automation runs."""

    team = models.ForeignKey(Team, models.CASCADE, related_name="events")
    type = models.CharField(max_length=32)
    scope_type = models.CharField(max_length=16, choices=Scope.choices)
    project = models.ForeignKey(
        Project, models.CASCADE, null=True, blank=True, related_name="events"
    )
    registry = models.ForeignKey(
        Registry, models.CASCADE, null=True, blank=True, related_name="events"
    )
    # What the event is about, e.g. "acme/mnist/run-1" or "acme/model/mnist:v3".
    subject = models.CharField(max_length=512)
    subject_url = models.CharField(max_length=1024, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    author_name = models.CharField(max_length=150, blank=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    # For each automation of the scope and type: matched or not, and why.
    evaluations = models.JSONField(default=list, blank=True)
    # A sample event made up to test an automation that has not seen a real one.
    sample = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["project", "type", "-created_at"], name="event_project_type"),
            models.Index(fields=["registry", "type", "-created_at"], name="event_registry_type"),
            models.Index(fields=["team", "-created_at"], name="event_team_created"),
            models.Index(
                fields=["created_at"],
                name="event_unprocessed",
                condition=Q(processed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.subject}"

    @property
    def scope(self) -> Project | Registry:
        return self.project if self.scope_type == Scope.PROJECT else self.registry  # type: ignore[return-value]

    @property
    def absolute_url(self) -> str:
        """The full link to what the event is about ("" when it has none)."""
        return absolute_url(self.subject_url) if self.subject_url else ""

    @property
    def run_id(self) -> str:
        """The id of the run a run event is about ("" for other events)."""
        return str((self.data.get("run") or {}).get("id") or "")


class Automation(models.Model):
    class ActionType(models.TextChoices):
        SLACK_NOTIFICATION = "SLACK_NOTIFICATION", "Slack notification"
        WEBHOOK = "WEBHOOK", "Webhook"

    team = models.ForeignKey(Team, models.CASCADE, related_name="automations")
    name = models.CharField(max_length=128, validators=[name_validator])
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    scope_type = models.CharField(max_length=16, choices=Scope.choices)
    project = models.ForeignKey(
        Project, models.CASCADE, null=True, blank=True, related_name="automations"
    )
    registry = models.ForeignKey(
        Registry, models.CASCADE, null=True, blank=True, related_name="automations"
    )
    event_type = models.CharField(max_length=32)
    filter = models.JSONField(default=dict, blank=True)
    action_type = models.CharField(max_length=32, choices=ActionType.choices)
    integration = models.ForeignKey(Integration, models.PROTECT, related_name="automations")
    # Slack: {"title", "message", "severity"}; webhook: {"payload"}.
    action_config = models.JSONField(default=dict, blank=True)
    # Noise control (automations.noise): at most one execution per run or artifact every
    # ``throttle_minutes`` (None: no limit), and none at all until ``muted_until``.
    throttle_minutes = models.PositiveIntegerField(null=True, blank=True)
    muted_until = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="automation_unique_team_name"),
            models.CheckConstraint(
                condition=(
                    Q(scope_type="project", project__isnull=False, registry__isnull=True)
                    | Q(scope_type="registry", registry__isnull=False, project__isnull=True)
                ),
                name="automation_one_scope",
            ),
        ]
        # Matching reads only enabled automations of one scope and one type.
        indexes = [
            models.Index(
                fields=["project", "event_type"],
                name="automation_match_project",
                condition=Q(enabled=True),
            ),
            models.Index(
                fields=["registry", "event_type"],
                name="automation_match_registry",
                condition=Q(enabled=True),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def scope(self) -> Project | Registry:
        return self.project if self.scope_type == Scope.PROJECT else self.registry  # type: ignore[return-value]

    def get_absolute_url(self) -> str:
        return reverse("automation_detail", args=[self.team.slug, self.pk])


def generate_webhook_id() -> str:
    return "msg_" + pysecrets.token_hex(12)


class Execution(models.Model):
    """One automation acting on one event."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    class Trigger(models.TextChoices):
        EVENT = "event", "Event"
        TEST = "test", "Test"
        REDELIVERY = "redelivery", "Redelivery"

    automation = models.ForeignKey(Automation, models.CASCADE, related_name="executions")
    event = models.ForeignKey(Event, models.CASCADE, related_name="executions")
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.EVENT)
    redelivery_of = models.ForeignKey(
        "self", models.SET_NULL, null=True, blank=True, related_name="redeliveries"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Why it matched: the filter evaluated with actual values, and the template variables.
    match = models.JSONField(default=dict, blank=True)
    # Metric automations: the step whose window matched (one event's batch of rows may
    # match at several steps; each match is one execution). NULL for other events.
    match_step = models.BigIntegerField(null=True, blank=True)
    # The payload as sent, with secret values masked.
    payload = models.JSONField(null=True, blank=True)
    target = models.CharField(max_length=2048, blank=True)
    error = models.TextField(blank=True)
    webhook_id = models.CharField(max_length=64, default=generate_webhook_id)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    # The claim holding it: a delivery thread claims a destination's due executions
    # together and sends them one after the other; a destination's deliveries in
    # flight are its distinct claims (``dispatch.in_flight``).
    claimed_by = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Processing an event twice never acts twice.
            models.UniqueConstraint(
                fields=["automation", "event"],
                condition=Q(trigger="event", match_step__isnull=True),
                name="execution_once_per_event",
            ),
            # ...nor twice for one matching step of a metric event's batch of rows.
            models.UniqueConstraint(
                fields=["automation", "event", "match_step"],
                condition=Q(trigger="event", match_step__isnull=False),
                name="execution_once_per_step",
            ),
        ]
        indexes = [
            models.Index(fields=["automation", "-created_at"], name="execution_automation"),
            models.Index(
                fields=["next_attempt_at"],
                name="execution_due",
                condition=Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.automation} on event {self.event_id}: {self.status}"

    def get_absolute_url(self) -> str:
        return reverse("execution_detail", args=[self.automation.team.slug, self.pk])


class Attempt(models.Model):
    """One delivery attempt of an execution."""

    execution = models.ForeignKey(Execution, models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now)
    ok = models.BooleanField(default=False)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["execution", "number"]
        constraints = [
            models.UniqueConstraint(fields=["execution", "number"], name="attempt_unique_number")
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of execution {self.execution_id}"
