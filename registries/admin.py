"""Django admin for registries, collections, linked versions and their aliases."""

from __future__ import annotations

from django.contrib import admin

from registries.models import Collection, LinkedAlias, LinkedVersion, Registry


@admin.register(Registry)
class RegistryAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "created_at"]
    list_filter = ["team"]
    search_fields = ["name", "team__slug"]


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ["name", "registry", "created_at"]
    search_fields = ["name", "registry__name"]
    raw_id_fields = ["registry"]


@admin.register(LinkedVersion)
class LinkedVersionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "source", "author", "created_at"]
    search_fields = ["collection__name"]
    raw_id_fields = ["collection", "source", "author"]
    list_select_related = ["collection__registry__team", "source__artifact__project__team"]


@admin.register(LinkedAlias)
class LinkedAliasAdmin(admin.ModelAdmin):
    list_display = ["alias", "collection", "version", "created_at"]
    search_fields = ["alias", "collection__name"]
    raw_id_fields = ["collection", "version"]
    list_select_related = ["collection__registry__team", "version__collection__registry__team"]
