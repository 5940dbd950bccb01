from __future__ import annotations

from django.apps import AppConfig


class WandbApiConfig(AppConfig):
    name = "wandb_api"
    verbose_name = "W&B protocol"
