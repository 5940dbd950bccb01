"""The Automations pages. ``automation_new`` exists for projects and registries:
reverse it with keyword arguments, ``slug`` and ``project`` or ``registry``."""

from __future__ import annotations

from django.urls import path

from automations import views

urlpatterns = [
    path(
        "t/<slug:slug>/p/<str:project>/automations/",
        views.automation_list,
        name="project_automations",
    ),
    path(
        "t/<slug:slug>/p/<str:project>/automations/history/",
        views.scope_history,
        name="project_history",
    ),
    path(
        "t/<slug:slug>/p/<str:project>/automations/new/",
        views.automation_new,
        name="automation_new",
    ),
    path(
        "t/<slug:slug>/r/<str:registry>/automations/",
        views.automation_list,
        name="registry_automations",
    ),
    path(
        "t/<slug:slug>/r/<str:registry>/automations/new/",
        views.automation_new,
        name="automation_new",
    ),
    path("t/<slug:slug>/r/<str:registry>/history/", views.scope_history, name="registry_history"),
    path(
        "t/<slug:slug>/automations/filter-fields/",
        views.filter_fields,
        name="automation_filter_fields",
    ),
    path("t/<slug:slug>/automations/preview/", views.preview, name="automation_preview"),
    path("t/<slug:slug>/automations/catalog/", views.event_catalog, name="event_catalog"),
    path("t/<slug:slug>/automations/<int:pk>/", views.automation_detail, name="automation_detail"),
    path("t/<slug:slug>/automations/<int:pk>/edit/", views.automation_edit, name="automation_edit"),
    path(
        "t/<slug:slug>/automations/<int:pk>/delete/",
        views.automation_delete,
        name="automation_delete",
    ),
    path(
        "t/<slug:slug>/automations/<int:pk>/toggle/",
        views.automation_toggle,
        name="automation_toggle",
    ),
    path("t/<slug:slug>/automations/<int:pk>/test/", views.automation_test, name="automation_test"),
    path("t/<slug:slug>/executions/<int:pk>/", views.execution_detail, name="execution_detail"),
    path(
        "t/<slug:slug>/executions/<int:pk>/redeliver/",
        views.execution_redeliver,
        name="execution_redeliver",
    ),
]
