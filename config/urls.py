from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from config.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("teams.urls")),
    path("", include("projects.urls")),
    path("", include("registries.urls")),
    path("", include("automations.urls")),
    path("", include("inbox.urls")),
    path("", include("mlflow_api.urls")),
    path("", include("wandb_api.urls")),
]
