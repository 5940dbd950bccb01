from __future__ import annotations

from django.urls import path

from registries import views

urlpatterns = [
    path("t/<slug:slug>/registries/new/", views.registry_create, name="registry_create"),
    path("t/<slug:slug>/r/<str:registry>/", views.registry_detail, name="registry_detail"),
    path("t/<slug:slug>/r/<str:registry>/links/", views.registry_link, name="registry_link"),
    path(
        "t/<slug:slug>/r/<str:registry>/aliases/", views.registry_alias, name="registry_alias"
    ),
    path("t/<slug:slug>/r/<str:registry>/unlink/", views.registry_unlink, name="registry_unlink"),
    *[
        path(
            f"t/<slug:slug>/r/<str:registry>/tags/{target}/{action}/",
            view,
            {"action": action},
            name=f"registry_{target}_tag_{action}",
        )
        for target, view in (
            ("version", views.registry_version_tag),
            ("collection", views.registry_collection_tag),
        )
        for action in ("add", "remove")
    ],
]
