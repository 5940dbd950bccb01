from __future__ import annotations

from django.contrib import admin

from mlflow_api.models import TeamSettings


@admin.register(TeamSettings)
class TeamSettingsAdmin(admin.ModelAdmin):
    list_display = ["team", "registry_name"]
