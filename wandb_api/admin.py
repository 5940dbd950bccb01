"""Django admin for the W&B side of runs and artifacts (read-mostly)."""

from __future__ import annotations

from django.contrib import admin

from wandb_api.models import WandbArtifact, WandbRun


@admin.register(WandbRun)
class WandbRunAdmin(admin.ModelAdmin):
    list_display = ["run", "last_heartbeat_at", "exit_code", "history_lines", "log_lines"]
    search_fields = ["run__run_id", "run__project__name"]
    raw_id_fields = ["run"]


@admin.register(WandbArtifact)
class WandbArtifactAdmin(admin.ModelAdmin):
    list_display = ["name", "type", "project", "state", "version", "created_at"]
    list_filter = ["state"]
    search_fields = ["name", "project__name"]
    raw_id_fields = ["project", "run", "version"]
