from __future__ import annotations

from django.urls import path, re_path

from wandb_api import views

urlpatterns = [
    path("wandb/graphql", views.graphql_view, name="wandb_graphql"),
    path(
        "wandb/files/<str:entity>/<str:project>/<str:run>/file_stream",
        views.file_stream_view,
        name="wandb_file_stream",
    ),
    path("wandb/uploads/<str:token>", views.upload_view, name="wandb_upload"),
    path("wandb/downloads/<str:token>", views.download_view, name="wandb_download"),
    # The SDK's OpenTelemetry posts go to the host root, next to /wandb.
    re_path(r"^sdk/otel/(?P<rest>.*)$", views.accept_and_drop, name="wandb_otel"),
    re_path(r"^wandb/(?P<rest>.*)$", views.accept_and_drop, name="wandb_other"),
]
