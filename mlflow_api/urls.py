from __future__ import annotations

from django.urls import path, re_path

from mlflow_api import views

urlpatterns = [
    path("mlflow/<str:team>/api/2.0/mlflow/<path:endpoint>", views.tracking),
    path("mlflow/<str:team>/ajax-api/2.0/mlflow/<path:endpoint>", views.tracking),
    path("mlflow/<str:team>/api/2.0/mlflow-artifacts/artifacts", views.artifact_files),
    path("mlflow/<str:team>/api/2.0/mlflow-artifacts/artifacts/", views.artifact_files),
    path(
        "mlflow/<str:team>/api/2.0/mlflow-artifacts/artifacts/<path:path>", views.artifact_files
    ),
    re_path(r"^mlflow/(?P<team>[^/]*)(?:/(?P<endpoint>.*))?$", views.not_implemented),
]
