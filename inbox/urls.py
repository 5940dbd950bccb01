from __future__ import annotations

from django.urls import path, re_path

from inbox import views

urlpatterns = [
    path("inbox/<str:token>/", views.receive, name="inbox_receive"),
    # Without the slash too: APPEND_SLASH cannot redirect a POST, and senders drop it.
    re_path(r"^inbox/(?P<token>[^/]+)$", views.receive),
    path("t/<slug:slug>/settings/inboxes/", views.inbox_list, name="inbox_list"),
    path("t/<slug:slug>/settings/inboxes/<int:pk>/", views.inbox_detail, name="inbox_detail"),
    path(
        "t/<slug:slug>/settings/inboxes/<int:pk>/requests/",
        views.inbox_requests,
        name="inbox_requests",
    ),
    path("t/<slug:slug>/settings/inboxes/<int:pk>/clear/", views.inbox_clear, name="inbox_clear"),
    path(
        "t/<slug:slug>/settings/inboxes/<int:pk>/delete/", views.inbox_delete, name="inbox_delete"
    ),
]
