from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from teams import views

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/", views.account, name="account"),
    path("account/keys/<int:pk>/revoke/", views.revoke_api_key, name="revoke_api_key"),
    path("t/<slug:slug>/", views.team_home, name="team_home"),
    path("t/<slug:slug>/settings/", views.team_settings, name="team_settings"),
    path(
        "t/<slug:slug>/settings/members/<int:pk>/role/", views.member_role, name="member_role"
    ),
    path(
        "t/<slug:slug>/settings/members/<int:pk>/remove/",
        views.member_remove,
        name="member_remove",
    ),
    path("t/<slug:slug>/settings/secrets/", views.settings_secrets, name="settings_secrets"),
    path(
        "t/<slug:slug>/settings/secrets/<int:pk>/rotate/",
        views.secret_rotate,
        name="secret_rotate",
    ),
    path(
        "t/<slug:slug>/settings/secrets/<int:pk>/delete/",
        views.secret_delete,
        name="secret_delete",
    ),
    path(
        "t/<slug:slug>/settings/integrations/",
        views.settings_integrations,
        name="settings_integrations",
    ),
    path(
        "t/<slug:slug>/settings/integrations/new/<str:kind>/",
        views.integration_new,
        name="integration_new",
    ),
    path(
        "t/<slug:slug>/settings/integrations/<int:pk>/",
        views.integration_edit,
        name="integration_edit",
    ),
    path(
        "t/<slug:slug>/settings/integrations/<int:pk>/reveal/",
        views.integration_reveal,
        name="integration_reveal",
    ),
    path(
        "t/<slug:slug>/settings/integrations/<int:pk>/enable/",
        views.integration_enable,
        name="integration_enable",
    ),
    path(
        "t/<slug:slug>/settings/integrations/<int:pk>/delete/",
        views.integration_delete,
        name="integration_delete",
    ),
]
