"""Django admin for events, automations, executions and attempts (django-q2 adds its own)."""

from __future__ import annotations

from django.contrib import admin

from automations.models import Attempt, Automation, Event, Execution


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["id", "type", "subject", "team", "author_name", "created_at", "processed_at"]
    list_filter = ["type", "scope_type", "team"]
    search_fields = ["subject", "author_name"]
    raw_id_fields = ["team", "project", "registry", "author"]
    date_hierarchy = "created_at"


@admin.register(Automation)
class AutomationAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "scope_type", "event_type", "action_type", "enabled"]
    list_filter = ["enabled", "event_type", "action_type", "team"]
    search_fields = ["name", "description"]
    raw_id_fields = ["team", "project", "registry", "integration", "created_by"]


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    readonly_fields = [
        "number", "at", "ok", "status_code", "duration_ms", "response_excerpt", "error",
    ]


@admin.register(Execution)
class ExecutionAdmin(admin.ModelAdmin):
    list_display = [
        "id", "automation", "status", "trigger", "attempt_count", "created_at", "finished_at",
    ]
    list_filter = ["status", "trigger"]
    search_fields = ["automation__name", "webhook_id"]
    raw_id_fields = ["automation", "event", "redelivery_of"]
    inlines = [AttemptInline]


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):
    list_display = ["execution", "number", "at", "ok", "status_code", "duration_ms"]
    list_filter = ["ok"]
    raw_id_fields = ["execution"]
