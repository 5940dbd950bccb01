"""Django admin for projects, runs, metric history and artifacts."""

from __future__ import annotations

from django.contrib import admin

from projects.models import Artifact, ArtifactAlias, ArtifactVersion, MetricPoint, Project, Run


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "created_at"]
    list_filter = ["team"]
    search_fields = ["name", "team__slug"]


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ["run_id", "display_name", "project", "state", "author", "created_at"]
    list_filter = ["state", "project__team"]
    search_fields = ["run_id", "display_name", "project__name"]
    raw_id_fields = ["project", "author"]
    readonly_fields = ["summary", "last_step", "created_at", "updated_at"]


@admin.register(MetricPoint)
class MetricPointAdmin(admin.ModelAdmin):
    list_display = ["run", "key", "step", "value", "created_at"]
    search_fields = ["key", "run__run_id"]
    raw_id_fields = ["run"]
    list_select_related = ["run__project__team"]


class ArtifactAliasInline(admin.TabularInline):
    model = ArtifactAlias
    extra = 0
    raw_id_fields = ["version"]


@admin.register(Artifact)
class ArtifactAdmin(admin.ModelAdmin):
    list_display = ["name", "type", "project", "created_at"]
    list_filter = ["type", "project__team"]
    search_fields = ["name", "project__name"]
    raw_id_fields = ["project"]
    inlines = [ArtifactAliasInline]


@admin.register(ArtifactVersion)
class ArtifactVersionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "digest", "author", "created_at"]
    search_fields = ["artifact__name", "digest"]
    raw_id_fields = ["artifact", "author"]
    list_select_related = ["artifact__project__team"]


@admin.register(ArtifactAlias)
class ArtifactAliasAdmin(admin.ModelAdmin):
    list_display = ["alias", "artifact", "version", "created_at"]
    search_fields = ["alias", "artifact__name"]
    raw_id_fields = ["artifact", "version"]
    list_select_related = ["artifact__project__team", "version__artifact__project__team"]
