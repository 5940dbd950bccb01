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
]
