from __future__ import annotations

from django.urls import path

from projects import views

urlpatterns = [
    path("t/<slug:slug>/p/<str:project>/", views.project_detail, name="project_detail"),
    path(
        "t/<slug:slug>/p/<str:project>/runs/<str:run_id>/", views.run_detail, name="run_detail"
    ),
    path(
        "t/<slug:slug>/p/<str:project>/runs/<str:run_id>/series",
        views.run_series,
        name="run_series",
    ),
    path(
        "t/<slug:slug>/p/<str:project>/runs/<str:run_id>/files/<path:path>",
        views.run_file,
        name="run_file",
    ),
    path(
        "t/<slug:slug>/p/<str:project>/artifacts/",
        views.project_artifacts,
        name="project_artifacts",
    ),
    path(
        "t/<slug:slug>/p/<str:project>/artifacts/<str:name>/",
        views.artifact_detail,
        name="artifact_detail",
    ),
    path(
        "t/<slug:slug>/p/<str:project>/artifacts/<str:name>/aliases/",
        views.artifact_alias,
        name="artifact_alias",
    ),
    path(
        "t/<slug:slug>/p/<str:project>/artifacts/<str:name>/tags/add/",
        views.artifact_tag,
        {"action": "add"},
        name="artifact_tag_add",
    ),
    path(
        "t/<slug:slug>/p/<str:project>/artifacts/<str:name>/tags/remove/",
        views.artifact_tag,
        {"action": "remove"},
        name="artifact_tag_remove",
    ),
]
