from __future__ import annotations

from django.apps import AppConfig


class RegistriesConfig(AppConfig):
    name = "registries"
    default_auto_field = "django.db.models.BigAutoField"
